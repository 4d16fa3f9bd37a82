# make article: build the seed article's programs (harness/testdata/article)
# and the smallest variants that compile and pivot, run the checks of the
# steps they claim, and rewrite the tables in docs/article.md. Needs root
# (it uses sudo), like the tests.
.PHONY: article
article:
	$(SUDO) $(GO) run ./harness/cmd/article
