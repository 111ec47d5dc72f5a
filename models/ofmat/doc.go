// Package ofmat provides readers for the matrix formats of OpenFace's model
// files: the little-endian binary layout in which OpenFace stores its patch
// experts and detection validators (scalars, and matrices written as
// i32 rows, i32 cols, i32 OpenCV type and the raw row-major elements).
package ofmat
