build-dev/obj/tests/unit/test_config.o: tests/unit/test_config.c \
 common/common.h config/config.h config/jsonpos.h
common/common.h:
config/config.h:
config/jsonpos.h:
