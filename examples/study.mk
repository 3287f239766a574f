# examples/study.mk: one make target per study; only new or changed studies run again.
#
#   make -j8 -f examples/study.mk STUDIES=studies.txt [OUT=results] [PIPELINE='...']
#   make -f examples/study.mk STUDIES=studies.txt status
#
# A study's target is OUT/.make/ID.ok.  It depends on OUT/.make/ID.key, which holds the
# study's input and the pipeline and is rewritten only when one of them changes, and, for an
# input that is a local folder or file, on its files.  So a study runs again when it is new,
# when its input line or the pipeline changed, or when a file of its local input is newer.
# m3-batch runs each study (--only ID), so the ids, exit codes, retries, stamps, logs and
# status file are those of any m3-batch run: `m3-batch --status OUT` shows them all.
# A quarantined study (exit 3: bad data) counts as made, until its input changes; any other
# failure fails its target (use make -k to go on with the others) and runs again next time.
# In PIPELINE, write $$ for a $ that the shell should see.

STUDIES ?= studies.txt
OUT ?= results
PIPELINE ?= m3-fetch {in} | m3-decode -q | m3-mammo -o {out}/marks-%n.png > {out}/findings.jsonl
M3_BATCH ?= m3-batch
K := $(OUT)/.make

export M3_PIPELINE := $(PIPELINE)

.PHONY: all status
all:

# The study list, from m3-batch's own ids; keys rewritten only when their text changes.
$(shell mkdir -p $(K))
$(file >$(K)/pipeline.new,$(PIPELINE))
$(shell $(M3_BATCH) --list -m '$(STUDIES)' >$(K)/list 2>$(K)/list.err)
ifneq ($(.SHELLSTATUS),0)
$(error $(shell cat $(K)/list.err))
endif
$(shell tab=$$(printf '\t'); \
	while IFS="$$tab" read -r id in; do \
		{ printf '%s\n' "$$in"; cat $(K)/pipeline.new; } >$(K)/$$id.key.new; \
		if cmp -s $(K)/$$id.key.new $(K)/$$id.key; then rm -f $(K)/$$id.key.new; \
		else mv $(K)/$$id.key.new $(K)/$$id.key; fi; \
		p=$${in#file://}; deps=; \
		case $$p in (*[!A-Za-z0-9_./+@=,-]*) ;; \
		(*) [ -e "$$p" ] && deps=$$(find "$$p" -type f | grep -v '[^A-Za-z0-9_./+@=,-]' | tr '\n' ' ');; esac; \
		echo "all: $(K)/$$id.ok"; \
		echo "$(K)/$$id.ok: $$deps"; \
	done <$(K)/list >$(K)/rules.mk)
include $(K)/rules.mk

$(K)/%.ok: $(K)/%.key
	@s=0; $(M3_BATCH) -q --only '$*' $(if $(wildcard $@),--force) --retry-failed \
		--retry-quarantined -m '$(STUDIES)' -o '$(OUT)' -- "$$M3_PIPELINE" || s=$$?; \
	if [ $$s -eq 0 ] || [ $$s -eq 3 ]; then touch $@; else exit $$s; fi

status:
	@$(M3_BATCH) --status '$(OUT)'
