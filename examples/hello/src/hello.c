/* The bundled example artifact: a tiny greeter built hermetically by `zt pipeline run`. */
#include <stdio.h>
#include <string.h>

static const char *greeting(const char *name) {
    static char buf[128];
    snprintf(buf, sizeof buf, "hello, %s", (name && *name) ? name : "world");
    return buf;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        puts("hello 1.0.0");
        return 0;
    }
    puts(greeting(argc > 1 ? argv[1] : NULL));
    return 0;
}
