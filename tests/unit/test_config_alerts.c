/*
 * test_config_alerts.c: the alerts section of the config (config/parse.c),
 * through config_parse (the text alone, no file system): a full section
 * read back key by key, the defaults, durations in each form, and the exact
 * one-line error of each mistake, FILE:LINE:COL: PATH: what.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "config/config.h"

#define PLUGINS \
	"\"plugins\": [{\"name\": \"console\", \"role\": \"connector\", " \
	"\"exec\": [\"console\"]}, {\"name\": \"hog\", \"exec\": [\"hog\"]}]"

static struct config *
parse_ok(const char *text)
{
	struct config	*cf = NULL;
	char		*cause = NULL;

	if (config_parse(text, strlen(text), "cfg.json", &cf, &cause) != 0)
		fail_msg("unexpected error: %s", cause);
	return cf;
}

/* The alerts section alone, with the two plugins above. */
static char *
parse_err(const char *alerts)
{
	struct config	*cf = (struct config *)1;
	char		*cause = NULL, *text;

	xasprintf(&text, "{" PLUGINS ", \"alerts\": %s}", alerts);
	assert_int_equal(config_parse(text, strlen(text), "cfg.json", &cf,
	    &cause), -1);
	assert_null(cf);
	assert_null(strchr(cause, '\n'));
	free(text);
	return cause;
}

#define assert_alerts_error(alerts, expected) do {			\
	char	*cause_ = parse_err(alerts);				\
	assert_string_equal(cause_, (expected));			\
	free(cause_);							\
} while (0)

static void
test_defaults(void **state)
{
	struct config	*cf = parse_ok("{" PLUGINS "}");

	assert_int_equal(cf->alerts.ntargets, 0);
	assert_int_equal(cf->alerts.nrules, 0);
	assert_true(cf->alerts.repeat == 600);
	assert_true(cf->alerts.collapse == 60);
	assert_true(cf->alerts.rate == 1);
	assert_int_equal(cf->alerts.burst, 5);
	assert_int_equal(cf->alerts.queue, 20);
	assert_int_equal(cf->alerts.lifecycle, ALERT_ON_CRASH |
	    ALERT_ON_CRASH_LOOP | ALERT_ON_MEMORY_LIMIT | ALERT_ON_CPU_LIMIT |
	    ALERT_ON_HUNG | ALERT_ON_READY | ALERT_ON_RECOVERY);
	config_free(cf);
}

static void
test_full_section(void **state)
{
	struct config			*cf;
	const struct alert_rule_config	*r;

	cf = parse_ok("{" PLUGINS ", \"alerts\": {"
	    "\"targets\": [{\"connector\": \"console\", \"channel\": \"#ops\"},"
	    " {\"connector\": \"console\", \"channel\": \"console\"}],"
	    "\"repeat\": \"1.5h\", \"collapse\": 30, \"rate\": 0.5, "
	    "\"burst\": 2, \"queue\": 0,"
	    "\"lifecycle\": {\"hung\": false, \"recovery\": false},"
	    "\"rules\": [{\"name\": \"hot\", \"metric\": \"cpu.p95\", "
	    "\"op\": \">=\", \"value\": 80.5, \"window\": \"5m\", "
	    "\"for\": \"90s\", \"severity\": \"critical\"},"
	    "{\"name\": \"big\", \"plugins\": [\"hog\", \"console\"], "
	    "\"metric\": \"events_per_min\", \"op\": \"<\", \"value\": -1, "
	    "\"window\": 60}]}}");
	assert_int_equal(cf->alerts.ntargets, 2);
	assert_string_equal(cf->alerts.targets[0].connector, "console");
	assert_string_equal(cf->alerts.targets[0].channel, "#ops");
	assert_string_equal(cf->alerts.targets[1].channel, "console");
	assert_true(cf->alerts.repeat == 5400);
	assert_true(cf->alerts.collapse == 30);
	assert_true(cf->alerts.rate == 0.5);
	assert_int_equal(cf->alerts.burst, 2);
	assert_int_equal(cf->alerts.queue, 0);
	assert_int_equal(cf->alerts.lifecycle, ALERT_ON_CRASH |
	    ALERT_ON_CRASH_LOOP | ALERT_ON_MEMORY_LIMIT | ALERT_ON_CPU_LIMIT |
	    ALERT_ON_READY);
	assert_int_equal(cf->alerts.nrules, 2);
	r = &cf->alerts.rules[0];
	assert_string_equal(r->name, "hot");
	assert_null(r->plugins);
	assert_int_equal(r->metric, AM_CPU_P95);
	assert_int_equal(r->op, AO_GE);
	assert_true(r->value == 80.5);
	assert_true(r->window == 300);
	assert_true(r->hold == 90);
	assert_int_equal(r->severity, ALERT_CRITICAL);
	r = &cf->alerts.rules[1];
	assert_int_equal(r->nplugins, 2);
	assert_string_equal(r->plugins[0], "hog");
	assert_string_equal(r->plugins[1], "console");
	assert_null(r->plugins[2]);
	assert_int_equal(r->metric, AM_EVENTS_PER_MIN);
	assert_int_equal(r->op, AO_LT);
	assert_true(r->window == 60 && r->hold == 0);
	assert_int_equal(r->severity, ALERT_WARNING);
	assert_true(config_alert_rule_equal(r, r));
	assert_false(config_alert_rule_equal(&cf->alerts.rules[0], r));
	assert_string_equal(config_alert_metric_name(AM_MEMORY_P95),
	    "memory_mb.p95");
	assert_string_equal(config_alert_op_name(AO_LE), "<=");
	assert_string_equal(config_alert_severity_name(ALERT_INFO), "info");
	config_free(cf);
}

/* Durations: seconds as a number, or decimal with a unit; nothing else. */
static void
test_durations(void **state)
{
	static const struct {
		const char	*text;
		double		 seconds;
	} good[] = {
		{ "2", 2 }, { "2.5", 2.5 }, { "\"90\"", 90 }, { "\"90s\"", 90 },
		{ "\"5m\"", 300 }, { "\"1.5h\"", 5400 }, { "\"2d\"", 172800 },
		{ "\"2.5s\"", 2.5 },
	};
	static const char *const bad[] = {
		"\"1e2s\"", "\"0x10\"", "\"5 m\"", "\" 5m\"", "\"-5m\"",
		"\"+5m\"", "\"5mm\"", "\"5w\"", "\".\"", "\"\"", "\"nan\"",
		"\"inf\"", "true", "null", "[5]", "0", "-1", "700000",
	};
	struct config	*cf;
	char		*text, *cause = NULL;
	size_t		 i;

	for (i = 0; i < nitems(good); i++) {
		xasprintf(&text, "{" PLUGINS ", \"alerts\": {\"repeat\": %s}}",
		    good[i].text);
		cf = parse_ok(text);
		if (cf->alerts.repeat != good[i].seconds)
			fail_msg("%s: %g", good[i].text, cf->alerts.repeat);
		config_free(cf);
		free(text);
	}
	for (i = 0; i < nitems(bad); i++) {
		xasprintf(&text, "{\"plugins\": [], \"alerts\": {\"repeat\": %s}}",
		    bad[i]);
		if (config_parse(text, strlen(text), "cfg.json", &cf, &cause) !=
		    -1)
			fail_msg("%s accepted", bad[i]);
		if (strstr(cause, "cfg.json:1:38: alerts.repeat: must be a "
		    "duration from 1 to 604800 seconds: a number of seconds, or "
		    "a string like \"90s\", \"5m\", \"1.5h\", \"2d\", got ") !=
		    cause)
			fail_msg("%s: %s", bad[i], cause);
		free(cause);
		free(text);
	}
}

static void
test_errors(void **state)
{
	assert_alerts_error("[]", "cfg.json:1:122: alerts: must be an object, "
	    "got an empty array");
	assert_alerts_error("{\"target\": []}", "cfg.json:1:123: alerts.target: "
	    "unknown key (expected one of: targets, repeat, collapse, rate, "
	    "burst, queue, lifecycle, rules)");
	assert_alerts_error("{\"rate\": -1}", "cfg.json:1:131: alerts.rate: "
	    "must be a number between 0 and 1000, got -1");
	assert_alerts_error("{\"burst\": 0}", "cfg.json:1:132: alerts.burst: "
	    "must be an integer between 1 and 1000, got 0");
	assert_alerts_error("{\"queue\": 2.5}", "cfg.json:1:132: alerts.queue: "
	    "must be an integer between 0 and 10000, got 2.5");
	assert_alerts_error("{\"targets\": {}}", "cfg.json:1:134: "
	    "alerts.targets: must be an array of {\"connector\", \"channel\"} "
	    "objects, got an empty object");
	assert_alerts_error("{\"targets\": [{\"connector\": \"irc\", "
	    "\"channel\": \"#ops\"}]}", "cfg.json:1:149: "
	    "alerts.targets[0].connector: no plugin named \"irc\" in plugins");
	assert_alerts_error("{\"targets\": [{\"connector\": \"console\", "
	    "\"channel\": \"#o ps\"}]}", "cfg.json:1:171: "
	    "alerts.targets[0].channel: must be a channel name of 1 to 200 "
	    "bytes without spaces or control characters, got \"#o ps\"");
	assert_alerts_error("{\"targets\": [{\"channel\": \"#ops\"}]}",
	    "cfg.json:1:135: alerts.targets[0].connector: missing required key");
	assert_alerts_error("{\"lifecycle\": {\"crash\": \"yes\"}}",
	    "cfg.json:1:146: alerts.lifecycle.crash: must be true or false, got "
	    "\"yes\"");
	assert_alerts_error("{\"rules\": [{\"name\": \"Hot\", \"metric\": "
	    "\"cpu.avg\", \"op\": \">\", \"value\": 1, \"window\": 60}]}",
	    "cfg.json:1:142: alerts.rules[0].name: invalid rule name \"Hot\": "
	    "use 1 to 32 of a-z, 0-9, '_' and '-', starting with a letter or "
	    "digit");
	assert_alerts_error("{\"rules\": [{\"name\": \"x\", \"metric\": "
	    "\"cpu.avg\", \"op\": \">\", \"window\": 60}]}",
	    "cfg.json:1:133: alerts.rules[0].value: missing required key");
	assert_alerts_error("{\"rules\": [{\"name\": \"x\", \"metric\": "
	    "\"cpu.avg\", \"op\": \">\", \"value\": \"80\", \"window\": 60}]}",
	    "cfg.json:1:188: alerts.rules[0].value: must be a number between "
	    "-1e+15 and 1e+15, got \"80\"");
	assert_alerts_error("{\"rules\": [{\"name\": \"x\", \"metric\": "
	    "\"cpu.avg\", \"op\": \">\", \"value\": 1, \"window\": 60, "
	    "\"severity\": \"high\"}]}",
	    "cfg.json:1:217: alerts.rules[0].severity: must be one of \"info\", "
	    "\"warning\", \"critical\", got \"high\"");
	assert_alerts_error("{\"rules\": [{\"name\": \"x\", \"metric\": "
	    "\"cpu.avg\", \"op\": \">\", \"value\": 1, \"window\": 60, "
	    "\"for\": -1}]}",
	    "cfg.json:1:212: alerts.rules[0].for: must be a duration from 0 to "
	    "604800 seconds: a number of seconds, or a string like \"90s\", "
	    "\"5m\", \"1.5h\", \"2d\", got -1");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_full_section),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_errors),
	};

	log_init("test_config_alerts", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
