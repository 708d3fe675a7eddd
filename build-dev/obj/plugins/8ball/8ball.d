build-dev/obj/plugins/8ball/8ball.o: plugins/8ball/8ball.c \
 common/common.h common/hmap.h plugins/sdk/sdk.h
common/common.h:
common/hmap.h:
plugins/sdk/sdk.h:
