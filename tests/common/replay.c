/* SPDX-License-Identifier: MIT */
/* Runs a fuzz target over every file of corpus directories, without
 * libFuzzer, so the normal suite replays the corpus (and any crash found by
 * fuzzing once it is added there). TAP output, one line per file. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  char *files[4096];
  size_t n = 0;
  for (int i = 1; i < argc; i++) {
    DIR *d = opendir(argv[i]);
    struct dirent *e;
    if (!d) {
      printf("Bail out! cannot open corpus %s\n", argv[i]);
      return 1;
    }
    while ((e = readdir(d)) && n < sizeof(files) / sizeof(files[0])) {
      char *p;
      if (e->d_name[0] == '.')
        continue;
      if (asprintf(&p, "%s/%s", argv[i], e->d_name) < 0)
        return 1;
      files[n++] = p;
    }
    closedir(d);
  }
  qsort(files, n, sizeof(files[0]), cmp);
  if (n == 0) {
    printf("Bail out! empty corpus\n");
    return 1;
  }
  printf("1..%zu\n", n);
  for (size_t i = 0; i < n; i++) {
    FILE *f = fopen(files[i], "rb");
    uint8_t *buf;
    size_t len = 0, cap = 4096, got;
    if (!f) {
      printf("not ok %zu - %s (cannot open)\n", i + 1, files[i]);
      continue;
    }
    buf = malloc(cap);
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
      len += got;
      if (len == cap)
        buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    /* A crash here fails the test (TAP plan unmet); returning means no crash. */
    LLVMFuzzerTestOneInput(buf, len);
    printf("ok %zu - %s\n", i + 1, files[i]);
    free(buf);
    free(files[i]);
  }
  return 0;
}
