/* SPDX-License-Identifier: MIT */
/* Unit: the SPAWN decoder (guest_spawn_parse) on its seed corpus: every
 * file of tests/corpus/guest-spawn-good is accepted (and holds the fuzz
 * target's rules), every file of guest-spawn-bad refused with a reason.
 * argv: the good and the bad directory. TAP. */
#include <dirent.h>
#include <stdio.h>

/* The fuzz target, for its stubs of init.c and its checks of what is accepted. */
#define LLVMFuzzerTestOneInput fuzz_spawn_one
#include "fuzz-guest-spawn.c"

static int n_test;

static int run_dir(const char *dir, bool good) {
  DIR *d = opendir(dir);
  if (!d) {
    printf("Bail out! cannot open %s\n", dir);
    return 1;
  }
  int failed = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char path[4096];
    static uint8_t buf[1 << 20];
    snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, sizeof(buf), f) : 0;
    if (f)
      fclose(f);
    vmctr__agent_msg m = {0};
    const char *why = "the field list does not parse";
    guest_spawn sp;
    memset(&sp, 0, sizeof(sp));
    sp.errfd = sp.join_root = -1;
    if (vmctr__agent_msg_parse(buf, n, &m) == 0)
      why = guest_spawn_parse(&m, &sp);
    guest_spawn_free(&sp);
    vmctr__agent_msg_free(&m);
    fuzz_spawn_one(buf, n); /* aborts on a broken rule */
    bool ok = good ? why == NULL : why != NULL;
    printf("%s %d - %s/%s%s%s\n", ok ? "ok" : "not ok", ++n_test, good ? "good" : "bad",
           e->d_name, why ? ": " : "", why ? why : "");
    failed += !ok;
  }
  closedir(d);
  return failed;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    printf("Bail out! usage: %s GOOD-DIR BAD-DIR\n", argv[0]);
    return 1;
  }
  int failed = run_dir(argv[1], true) + run_dir(argv[2], false);
  printf("1..%d\n", n_test);
  return failed ? 1 : 0;
}
