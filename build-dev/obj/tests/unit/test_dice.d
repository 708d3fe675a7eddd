build-dev/obj/tests/unit/test_dice.o: tests/unit/test_dice.c \
 common/common.h plugins/dice-roller/dice.h
common/common.h:
plugins/dice-roller/dice.h:
