package qemu

import (
	"errors"
	"io/fs"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// KVM when /dev/kvm opens, TCG otherwise or when asked, and never KVM for
// a guest of another architecture.
func TestChooseAccel(t *testing.T) {
	noKVM := func() error { return &fs.PathError{Op: "open", Path: devKVM, Err: fs.ErrPermission} }
	kvmOK := func() error { return nil }
	notCalled := func() error { return errors.New("must not be asked") }
	cases := []struct {
		name, force, guest, host string
		kvm                      func() error
		want                     string // accel, or "error"
		why                      string // part of the reason or error
	}{
		{"kvm opens", "", "amd64", "amd64", kvmOK, "kvm", "opens read-write"},
		{"kvm refused", "", "amd64", "amd64", noKVM, "tcg", "permission denied"},
		{"forced tcg with kvm", "tcg", "amd64", "amd64", kvmOK, "tcg", "STEPBOX_QEMU_ACCEL=tcg"},
		{"foreign guest", "", "arm64", "amd64", notCalled, "tcg", "only the host's own architecture"},
		{"forced kvm", "kvm", "amd64", "amd64", kvmOK, "kvm", "STEPBOX_QEMU_ACCEL=kvm"},
		{"forced kvm, none", "kvm", "amd64", "amd64", noKVM, "error", "permission denied"},
		{"forced kvm, foreign", "kvm", "arm64", "amd64", notCalled, "error", "not an arm64 guest"},
		{"bad value", "hvf", "amd64", "amd64", kvmOK, "error", "want tcg, kvm"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := chooseAccel(c.force, c.guest, c.host, c.kvm)
			if c.want == "error" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), c.why)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, c.want, got.Name)
			assert.Contains(t, got.String(), c.why)
		})
	}
}
