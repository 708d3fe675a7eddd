build-dev/obj/tests/unit/test_irc.o: tests/unit/test_irc.c \
 common/common.h plugins/irc/ircmsg.h plugins/irc/ircrate.h \
 common/breaker.h
common/common.h:
plugins/irc/ircmsg.h:
plugins/irc/ircrate.h:
common/breaker.h:
