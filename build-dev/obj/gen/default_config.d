build-dev/obj/gen/default_config.o: build-dev/obj/gen/default_config.c
