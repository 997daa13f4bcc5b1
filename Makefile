# customer_score — PGXS build.  `make && make install`, then `bash test/run` for every suite.
EXTENSION    = customer_score
EXTVERSION   = $(shell sed -n "s/^default_version = '\(.*\)'/\1/p" $(EXTENSION).control)
MODULE_big   = customer_score
OBJS         = src/module.o src/numeric.o src/optimize.o src/text_io.o src/model_io.o \
               src/model.o src/counting.o src/history.o src/rfm.o src/bgnbd.o src/gamma_gamma.o src/clv.o \
               src/pareto_nbd.o src/mbgnbd.o
# validation: calibration/holdout summaries, period probabilities, tracking, bootstrap
OBJS        += src/rfm_holdout.o src/bgnbd_pmf.o src/holdout.o src/tracking.o src/bootstrap.o \
               src/standard_errors.o src/model_choice.o
# the discrete-time and contractual models: BG/BB and the shifted-beta-geometric
OBJS        += src/bgbb.o src/sbg.o
# influence: one query reader, weights, cascade walk, attribution, rank
OBJS        += src/action_reader.o src/action_weights.o src/influence.o src/attribution.o \
               src/influence_rank.o
# live scores: the trigger that keeps live_customers current, and its per-customer state type
OBJS        += src/live_days.o src/live_upsert.o src/purchase_days.o
OBJS        += src/normalize.o src/interrupts.o src/state_limit.o src/local_day.o src/customer_keys.o
# queries run on somebody's behalf: read-only, sources read as the role that configured them
OBJS        += src/query_guard.o
# outcomes: backtest metrics over a (score, realized) histogram, path attribution, composites
OBJS        += src/outcome_metrics.o src/path_attribution.o src/composite.o
# The install script is built from one file per capability (see install/).
INSTALL_PARTS = install/header.sql install/lifetime_value.sql
INSTALL_PARTS += install/influence.sql
INSTALL_PARTS += install/scores.sql
INSTALL_PARTS += install/live_scores.sql
# the purchase models of 0.2.0, generated from one template per kind of model
INSTALL_PARTS += install/models.sql
INSTALL_PARTS += install/validation.sql
# BG/BB and sBG, from the same template
INSTALL_PARTS += install/discrete_models.sql
INSTALL_PARTS += install/outcomes.sql
# the Citus shape of the extension's own tables (distribute_tables, undistribute_tables)
INSTALL_PARTS += install/citus.sql
# Released versions: their install scripts exactly as released (install/released/), and one
# upgrade script per step, built from install/upgrade/FROM--TO/*.sql in name order (one part
# per capability, so each change ships its own upgrade beside its install part); a part names
# the install blocks that replace old definitions instead of repeating them.
DATA         = install/released/$(EXTENSION)--0.1.0.sql
UPGRADE_0_2_0 = $(sort $(wildcard install/upgrade/0.1.0--0.2.0/*.sql))
DATA_built   = $(EXTENSION)--$(EXTVERSION).sql $(EXTENSION)--0.1.0--0.2.0.sql
EXTRA_CLEAN  = $(DATA_built) install/models.sql install/discrete_models.sql
REGRESS      = rfm bgnbd gamma_gamma clv model_io parallel bad_input
REGRESS     += influence influence_errors
REGRESS     += scores partials
REGRESS     += live_scores purchase_rule real_data
REGRESS     += purchase_models discrete_models
REGRESS     += validation
REGRESS     += outcomes
REGRESS     += refresh_models
PG_CPPFLAGS  = -I$(srcdir)/src -Wall -Wmissing-prototypes -Werror
SHLIB_LINK   = -lm

PG_CONFIG   ?= pg_config
PGXS        := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

install/models.sql: install/model_sql.sh
	bash install/model_sql.sh > $@.tmp && mv $@.tmp $@

install/discrete_models.sql: install/discrete_sql.sh install/model_sql.sh
	bash install/discrete_sql.sh > $@.tmp && mv $@.tmp $@

$(EXTENSION)--$(EXTVERSION).sql: $(INSTALL_PARTS) $(EXTENSION).control
	cat $(INSTALL_PARTS) > $@

# a part's "-- @block NAME" line brings in the install parts' block NAME (install/upgrade/expand.awk)
$(EXTENSION)--0.1.0--0.2.0.sql: $(UPGRADE_0_2_0) $(INSTALL_PARTS) install/upgrade/expand.awk
	awk -v install="$(INSTALL_PARTS)" -f install/upgrade/expand.awk $(UPGRADE_0_2_0) > $@.tmp && mv $@.tmp $@

# PGXS does not track header dependencies: rebuild every object when a header changes
$(OBJS): $(wildcard src/*.h)

# make dist: the committed tree (HEAD) as customer_score-<version>.tar.gz, every file under a
# customer_score-<version>/ prefix, the version read from customer_score.control. DISTDIR
# chooses where the archive goes (default: here).
DISTDIR ?= .
dist:
	git archive --format=tar.gz --prefix=$(EXTENSION)-$(EXTVERSION)/ \
	    -o $(DISTDIR)/$(EXTENSION)-$(EXTVERSION).tar.gz HEAD
.PHONY: dist
