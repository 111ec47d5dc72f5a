package clnf

import (
	"fmt"

	"facemirror/pipeline/pdm"
	"facemirror/pipeline/validator"
)

// validatorModel is the detection validator that rates a fitted shape.
type validatorModel struct {
	v *validator.Validator
}

func loadValidator(path string) (*validatorModel, error) {
	v, err := validator.Load(path)
	if err != nil {
		return nil, fmt.Errorf("clnf: %w", err)
	}
	return &validatorModel{v: v}, nil
}

// check is DetectionValidator::Check on the grey frame.
func (vm *validatorModel) check(rot pdm.Euler, img *frame, landmarks []float32) (float32, error) {
	c, err := vm.v.Check(rot, img.gray, landmarks)
	if err != nil {
		return 0, fmt.Errorf("clnf: validate: %w", err)
	}
	return c, nil
}
