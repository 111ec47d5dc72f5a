// Package gaze is the eye-gaze geometry of OpenFace 2.2's GazeAnalysis
// (EstimateGaze, GetPupilPosition, RaySphereIntersect, GetGazeAngle),
// reproduced in OpenFace's float32 and float64 steps so that the printed
// gaze columns of FeatureExtraction come out digit for digit.
//
// OpenFace models each eye as a sphere of radius 12 mm whose centre lies
// 3.5 mm above and 7 mm behind the midpoint of the eye's two corners
// (landmarks 36 and 39 of the 68-point face for the left eye, 42 and 45
// for the right), in the head's orientation. The pupil is the mean of the
// first eight landmarks of OpenFace's 28-point eye model (the iris
// outline) in camera space. The gaze of an eye is the unit vector from the
// sphere's centre to the point where the ray from the camera through the
// pupil first meets the sphere; a ray that misses it gives (0, 0, −1)
// before that subtraction, as in OpenFace. The gaze angles are the two
// atan2 angles of the mean of both eyes' gaze vectors.
//
// Points are in the camera space of the landmark detector (millimetres,
// x right, y down, z away from the camera), as package pdm's CameraShape
// gives them: a point set of n points is 3n values, every X, then every Y,
// then every Z. The functions allocate nothing.
package gaze
