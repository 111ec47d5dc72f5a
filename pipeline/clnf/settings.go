package clnf

import "math"

// settings are the fields of OpenFace's FaceModelParameters that fitting a
// model reads, with the values FeatureExtraction uses in video mode.
type settings struct {
	// windowsInit are the response window sizes per patch scale on the
	// first frame, after a detection and after a failed frame; a 0 skips
	// the scale.
	windowsInit []int
	// windowsSmall are the window sizes while tracking succeeds.
	windowsSmall []int
	// iterations is the NU-RLMS iteration count of each rigid and each
	// non-rigid pass.
	iterations int
	// sigma is the KDE kernel width, reg the weight of the shape prior and
	// weightFactor the NU-RLMS weighting by patch confidence (0 = off).
	sigma, reg, weightFactor float32
	// refineParameters adapts reg, sigma and weightFactor to each scale.
	refineParameters bool
	// refineHierarchical runs the part models after the main fit.
	refineHierarchical bool
	// validate runs the detection validator; a fit succeeds when its
	// certainty exceeds validationBoundary.
	validate           bool
	validationBoundary float32
}

// mainSettings are FaceModelParameters' defaults for the main model.
func mainSettings() settings {
	return settings{
		windowsInit:        []int{11, 9, 7, 5},
		windowsSmall:       []int{0, 9, 7, 0},
		iterations:         5,
		sigma:              1.5,
		reg:                25,
		weightFactor:       0,
		refineParameters:   true,
		refineHierarchical: true,
		validate:           true,
		validationBoundary: 0.725,
	}
}

// partSettings are the settings CLNF::Read gives a hierarchical part
// model of the given name. ok is false for a name this model family does
// not use.
func partSettings(name string) (s settings, ok bool) {
	s = mainSettings()
	s.validate = false
	s.refineHierarchical = false
	s.refineParameters = false
	switch name {
	case "inner":
		s.windowsInit = []int{9}
		s.reg, s.sigma, s.weightFactor = 2.5, 1.75, 2.5
	case "left_eye_28", "right_eye_28":
		s.windowsInit = []int{3, 5, 9}
		s.reg, s.sigma = 0.5, 1.0
	default:
		return settings{}, false
	}
	s.windowsSmall = s.windowsInit
	return s, true
}

// scaleSettings are the regularisation, kernel width and weighting in
// effect at one patch scale.
type scaleSettings struct {
	reg, sigma, weightFactor float32
}

// atScale returns the settings for patch experts trained at patchScaling
// (the scaling of scale min(scale, 2), as CLNF::Fit picks it): with
// refinement on, each doubling of the scaling above 0.25 lowers reg by 15
// and widens sigma by 0.25. The arithmetic is CLNF::Fit's: float fields
// combined with double logarithms and rounded back to float.
func (s settings) atScale(patchScaling float64) scaleSettings {
	if !s.refineParameters {
		return scaleSettings{reg: s.reg, sigma: s.sigma, weightFactor: s.weightFactor}
	}
	l := math.Log(patchScaling / 0.25)
	l2 := math.Log(2)
	reg := float32(float64(s.reg) - 15*l/l2)
	if reg <= 0 {
		reg = 0.001
	}
	return scaleSettings{
		reg:          reg,
		sigma:        float32(float64(s.sigma) + 0.25*l/l2),
		weightFactor: float32(float64(s.weightFactor) + float64(2*s.weightFactor)*l/l2),
	}
}
