build-dev/obj/bench/bench_crashloop.o: bench/bench_crashloop.c
