# make attacks: run step 10's attacks against steps 09 and 10 and rewrite
# the table in steps/10-security/README.md from what happened. Needs
# root (it uses sudo), like the tests.
.PHONY: attacks
attacks:
	$(SUDO) $(GO) run ./harness/cmd/attacks
