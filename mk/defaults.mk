# The variables every fragment uses, defined once: the root Makefile
# includes this first, and a fragment that also works alone (vm.mk)
# includes it itself.
GO   ?= go
STEP ?= 05
