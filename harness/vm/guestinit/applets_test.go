package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAppletLinks(t *testing.T) {
	list := "bin/busybox\nbin/sh\nsbin/init\nlinuxrc\nusr/bin/env\ninit\n"
	assert.Equal(t, []string{"/bin/sh", "/sbin/init", "/usr/bin/env"}, appletLinks(list))
	assert.Empty(t, appletLinks(""))
}
