package auplot_test

import (
	"fmt"

	"facemirror/ui/auplot"
)

func ExampleCurves_Asymmetry() {
	c := auplot.NewCurves([]string{"AU12", "AU45"})
	// A smile that the right side of the face follows at half strength.
	for frame, smile := range []float64{1, 2, 3} {
		t := float64(frame) / 30
		c.Add(auplot.SideLeft, frame, t, []float64{smile, 0})
		c.Add(auplot.SideRight, frame, t, []float64{smile / 2, 0})
	}
	ai, _ := c.Asymmetry("AU12")
	l, r, _ := c.Latest("AU12")
	fmt.Printf("AU12 asymmetry %+.2f, latest left %.1f right %.1f\n", ai, l, r)
	_, ok := c.Asymmetry("AU45")
	fmt.Println("AU45 asymmetry defined:", ok)
	// Output:
	// AU12 asymmetry +0.33, latest left 3.0 right 1.5
	// AU45 asymmetry defined: false
}
