build-dev/obj/tests/unit/test_metrics_crashlog.o: \
 tests/unit/test_metrics_crashlog.c metrics/metrics.h
metrics/metrics.h:
