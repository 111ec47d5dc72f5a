package gaze

import (
	"errors"
	"math"
	"testing"
)

// identity is the head rotation of a frontal face.
var identity = [3][3]float32{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}

func near(a, b Vec3, tol float64) bool {
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > tol {
			return false
		}
	}
	return true
}

// points packs camera-space points into the X block, Y block, Z block
// layout.
func points(ps ...Vec3) []float32 {
	n := len(ps)
	out := make([]float32, 3*n)
	for i, p := range ps {
		out[i], out[n+i], out[2*n+i] = p[0], p[1], p[2]
	}
	return out
}

// face returns 68 camera-space landmarks, all at far, with the corners of
// both eyes set.
func face(far Vec3, corners map[int]Vec3) []float32 {
	ps := make([]Vec3, FaceLandmarks)
	for i := range ps {
		ps[i] = far
	}
	for i, p := range corners {
		ps[i] = p
	}
	return points(ps...)
}

func TestRaySphere(t *testing.T) {
	tests := []struct {
		name                string
		origin, dir, centre Vec3
		radius              float32
		want                Vec3
		tol                 float64
	}{
		{"straight ahead", Vec3{}, Vec3{0, 0, 1}, Vec3{0, 0, 100}, 12, Vec3{0, 0, 88}, 0},
		{"from an offset origin", Vec3{1, 2, 3}, Vec3{0, 0, 1}, Vec3{1, 2, 103}, 12, Vec3{1, 2, 91}, 0},
		{"tangent", Vec3{}, Vec3{0, 0, 1}, Vec3{12, 0, 100}, 12, Vec3{0, 0, 100}, 0},
		{"oblique", Vec3{}, Vec3{0.6, 0, 0.8}, Vec3{60, 0, 80}, 5, Vec3{57, 0, 76}, 1e-5},
		{"miss", Vec3{}, Vec3{1, 0, 0}, Vec3{0, 0, 100}, 12, Vec3{0, 0, -1}, 0},
		{"sphere behind", Vec3{}, Vec3{0, 0, 1}, Vec3{0, 0, -100}, 12, Vec3{0, 0, -112}, 0},
		// OpenFace scales the root by a/2 instead of dividing by 2a: for
		// a direction of length 2 the point is 16 times as far as the
		// true intersection (0, 0, 88).
		{"OpenFace's formula for a non-unit direction", Vec3{}, Vec3{0, 0, 2}, Vec3{0, 0, 100}, 12, Vec3{0, 0, 1408}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := RaySphere(tc.origin, tc.dir, tc.centre, tc.radius); !near(got, tc.want, tc.tol) {
				t.Errorf("RaySphere = %v, want %v (±%g)", got, tc.want, tc.tol)
			}
		})
	}
}

func TestPupil(t *testing.T) {
	iris := []Vec3{{1, 2, 500}, {3, 2, 501}, {5, 4, 502}, {3, 6, 503}, {1, 6, 504}, {-1, 4, 505}, {0, 3, 506}, {4, 5, 507}}
	tests := []struct {
		name string
		eye  []float32
		want Vec3
		err  error
	}{
		{"iris only", points(iris...), Vec3{2, 4, 503.5}, nil},
		// Only the first eight points (the iris) count.
		{"28-point eye", points(append(append([]Vec3(nil), iris...), make([]Vec3, 20)...)...), Vec3{2, 4, 503.5}, nil},
		{"too few points", points(iris[:7]...), Vec3{}, ErrInput},
		{"not three coordinates per point", make([]float32, 3*28+1), Vec3{}, ErrInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Pupil(tc.eye)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Errorf("Pupil = %v, %v; want %v, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestEyeballCentre(t *testing.T) {
	corners := map[int]Vec3{36: {-40, 10, 500}, 39: {-10, 14, 504}, 42: {10, 10, 510}, 45: {40, 12, 520}}
	f := face(Vec3{0, 0, 600}, corners)
	// A quarter turn about y maps the offset (0, −3.5, 7) to (7, −3.5, 0).
	yaw90 := [3][3]float32{{0, 0, 1}, {0, 1, 0}, {-1, 0, 0}}
	tests := []struct {
		name string
		face []float32
		eye  Eye
		rot  [3][3]float32
		want Vec3
		err  error
	}{
		{"left, frontal", f, Left, identity, Vec3{-25, 8.5, 509}, nil},
		{"right, frontal", f, Right, identity, Vec3{25, 7.5, 522}, nil},
		{"left, turned", f, Left, yaw90, Vec3{-18, 8.5, 502}, nil},
		{"no such eye", f, Eye(2), identity, Vec3{}, ErrInput},
		{"short face", f[:3*67], Left, identity, Vec3{}, ErrInput},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := EyeballCentre(tc.face, tc.eye, tc.rot)
			if !errors.Is(err, tc.err) || got != tc.want {
				t.Errorf("EyeballCentre = %v, %v; want %v, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestDirection(t *testing.T) {
	// The left eye's corners put its sphere's centre at (0, 0, 500) for a
	// frontal head.
	f := face(Vec3{0, 0, 600}, map[int]Vec3{36: {-15, 3.5, 493}, 39: {15, 3.5, 493}, 42: {20, 3.5, 493}, 45: {50, 3.5, 493}})
	iris := func(c Vec3) []float32 {
		ps := make([]Vec3, 28)
		for i := range ps {
			ps[i] = Vec3{c[0] + 7, c[1] - 9, c[2] + 30} // not part of the iris
		}
		// A ring of eight points around c.
		for i := 0; i < IrisLandmarks; i++ {
			a := 2 * math.Pi * float64(i) / IrisLandmarks
			ps[i] = Vec3{c[0] + float32(2*math.Cos(a)), c[1] + float32(2*math.Sin(a)), c[2]}
		}
		return points(ps...)
	}
	// A pupil on the sphere, on its near side, turned by a from the
	// camera axis: the gaze points from the centre through it.
	onSphere := func(ax, ay float64) (Vec3, Vec3) {
		d := Vec3{float32(math.Sin(ax)), float32(math.Sin(ay)), float32(-math.Sqrt(1 - math.Sin(ax)*math.Sin(ax) - math.Sin(ay)*math.Sin(ay)))}
		return Vec3{12 * d[0], 12 * d[1], 500 + 12*d[2]}, d
	}
	right10, wantR10 := onSphere(0.17, 0)
	up5, wantUp5 := onSphere(0, -0.09)
	tests := []struct {
		name  string
		pupil Vec3
		eye   Eye
		want  Vec3
		tol   float64
	}{
		{"at the camera", Vec3{0, 0, 488}, Left, Vec3{0, 0, -1}, 1e-6},
		{"to the side", right10, Left, wantR10, 1e-5},
		{"upwards", up5, Left, wantUp5, 1e-5},
		// A ray that misses the sphere gives OpenFace's (0, 0, −1), and
		// the gaze points from the centre to it.
		{"ray misses the sphere", Vec3{100, 0, 500}, Left, Vec3{0, 0, -1}, 0},
		// The right eye's sphere is centred at (35, 0, 500).
		{"right eye at the camera", Vec3{35, 0, 488}, Right, Vec3{0, 0, -1}, 1e-5},
		// The camera axis misses the right eye's sphere: the gaze points
		// from (35, 0, 500) to (0, 0, −1).
		{"right eye, ray misses", Vec3{0, 0, 488}, Right, Vec3{float32(-35 / math.Hypot(35, 501)), 0, float32(-501 / math.Hypot(35, 501))}, 1e-7},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Direction(iris(tc.pupil), f, tc.eye, identity)
			if err != nil {
				t.Fatal(err)
			}
			if !near(got, tc.want, tc.tol) {
				t.Errorf("Direction = %v, want %v (±%g)", got, tc.want, tc.tol)
			}
			if n := math.Sqrt(float64(got[0]*got[0] + got[1]*got[1] + got[2]*got[2])); math.Abs(n-1) > 1e-6 {
				t.Errorf("|Direction| = %v", n)
			}
		})
	}
	if _, err := Direction(make([]float32, 3*7), f, Left, identity); !errors.Is(err, ErrInput) {
		t.Errorf("7 eye points: %v", err)
	}
	if _, err := Direction(iris(Vec3{0, 0, 488}), f[:30], Left, identity); !errors.Is(err, ErrInput) {
		t.Errorf("10 face points: %v", err)
	}
}

func TestAngle(t *testing.T) {
	tests := []struct {
		name        string
		left, right Vec3
		want        [2]float64
	}{
		{"at the camera", Vec3{0, 0, -1}, Vec3{0, 0, -1}, [2]float64{0, 0}},
		{"right and down", Vec3{0.6, 0, -0.8}, Vec3{0.6, 0, -0.8}, [2]float64{math.Atan2(0.6, 0.8), 0}},
		{"converging eyes", Vec3{0.1, -0.2, -0.97}, Vec3{-0.1, -0.2, -0.97}, [2]float64{0, math.Atan2(-0.2, 0.97)}},
		{"mean of both", Vec3{0.3, 0, -0.9}, Vec3{0.1, 0.2, -0.7}, [2]float64{math.Atan2(0.2, 0.8), math.Atan2(0.1, 0.8)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Angle(tc.left, tc.right)
			for i := range got {
				if math.Abs(float64(got[i])-tc.want[i]) > 1e-7 {
					t.Errorf("Angle = %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestEyeString(t *testing.T) {
	for e, want := range map[Eye]string{Left: "left", Right: "right", Eye(5): "Eye(5)"} {
		if e.String() != want {
			t.Errorf("%d: %q, want %q", int(e), e.String(), want)
		}
	}
}
