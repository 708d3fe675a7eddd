build-dev/obj/plugins/console/console.o: plugins/console/console.c \
 common/common.h plugins/sdk/sdk.h
common/common.h:
plugins/sdk/sdk.h:
