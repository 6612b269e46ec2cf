/* SPDX-License-Identifier: MIT */
/* vmctr-image: drive the image store from the command line.
 *
 *   vmctr-image [--store DIR] import PATH [--name NAME[:TAG]]
 *                                             import an OCI layout, oci-archive or docker-archive
 *   vmctr-image [--store DIR] list            list the images (config digests)
 *   vmctr-image [--store DIR] names           list the names and the image each points at
 *   vmctr-image [--store DIR] tag NAME IMAGE  give an image a name; untag NAME removes it
 *   vmctr-image [--store DIR] show IMAGE      print an image's rootfs and run config
 *   vmctr-image [--store DIR] ext4 IMAGE      make (or reuse) its ext4 image, print its path
 *   vmctr-image [--store DIR] rm IMAGE        remove an image
 *   vmctr-image [--store DIR] pull REF [REGISTRY OPTIONS]   pull from a registry
 *   vmctr-image [--store DIR] push IMAGE REF [REGISTRY OPTIONS]   push to a registry
 * REGISTRY OPTIONS: --platform P, --insecure (plain http), --ca-file PEM,
 *   --mirror URL (repeatable), --user U (password on stdin), --jobs N,
 *   --stall-timeout S, --retries N, --docker-config FILE
 * IMAGE is a name of the store or a config digest (or a unique prefix of it).
 *   vmctr-image build DIR LAYOUT [--cmd ARG]... [--entrypoint ARG]... [--env K=V]...
 *                                 [--workdir DIR] [--user U]
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <vmctr.h>

static void usage(FILE *f) {
  fputs("usage: vmctr-image [--store DIR] import PATH [--name NAME[:TAG]] | list | names\n"
        "                   | tag NAME IMAGE | untag NAME | show IMAGE | ext4 IMAGE | rm IMAGE\n"
        "                   | pull REF [REGOPTS] | push IMAGE REF [REGOPTS]\n"
        "  REGOPTS: --platform OS/ARCH, --insecure (plain http), --ca-file PEM,\n"
        "           --mirror URL (repeatable), --user NAME (password on stdin), --jobs N,\n"
        "           --stall-timeout SECONDS, --retries N, --docker-config FILE\n"
        "build also takes --arch amd64|arm64.\n"
        "       vmctr-image build ROOTFS_DIR LAYOUT_DIR [--cmd ARG]... [--entrypoint ARG]...\n"
        "                   [--env KEY=VALUE]... [--workdir DIR] [--user USER]\n"
        "\n"
        "The store defaults to $VMCTR_IMAGE_STORE, else vmctr-run's: $VMCTR_STORE, else\n"
        "/var/lib/libvmctr as root, else $XDG_DATA_HOME/libvmctr or ~/.local/share/libvmctr.\n"
        "import takes an OCI image layout directory, an oci-archive or a docker-archive\n"
        "and prints the image's config digest; a progress line goes to stderr.\n"
        "IMAGE is a name (\"mybox:1\", stored as docker.io/library/mybox:1) or a digest.\n",
        f);
}

static int fail(const char *what, int r) {
  fprintf(stderr, "vmctr-image: %s: %s (%s)\n", what, vmctr_error_last()->message,
          vmctr_strerror(r));
  return 1;
}

static const char *phase_name(uint32_t p) {
  switch (p) {
  case VMCTR_PROGRESS_VERIFY: return "verify";
  case VMCTR_PROGRESS_UNPACK: return "unpack";
  case VMCTR_PROGRESS_COPY: return "copy";
  case VMCTR_PROGRESS_DISK: return "disk";
  default: return "work";
  }
}

static int progress(const vmctr_progress *p, void *userdata) {
  (void)userdata;
  double pct = p->bytes_total ? 100.0 * (double)p->bytes_done / (double)p->bytes_total : 0;
  fprintf(stderr, "\r%-6s %u/%u %5.1f%% %10llu/%llu bytes", phase_name(p->phase),
          p->item_index + 1, p->item_count, pct, (unsigned long long)p->bytes_done,
          (unsigned long long)p->bytes_total);
  return 0;
}

/* After an import or a pull started at a: the digest and the time, or the error. */
static int report(const char *what, int r, const vmctr_image *img, const struct timespec *a,
                  bool progress_line) {
  struct timespec b;
  clock_gettime(CLOCK_MONOTONIC, &b);
  if (progress_line)
    fputc('\n', stderr);
  if (r < 0)
    return fail(what, r);
  printf("%s\t%.3fs\n", vmctr_image_digest(img),
         (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9);
  return 0;
}

/* Registry options from argv[from..]; 0, or 2 on a usage error. */
static int reg_opts(int argc, char **argv, int from, vmctr_registry_options *o,
                    const char **mirrors, char *password, size_t pwcap) {
  size_t nm = 0;
  for (int k = from; k < argc; k++) {
    const char *a = argv[k], *v = k + 1 < argc ? argv[k + 1] : NULL;
    if (strcmp(a, "--insecure") == 0) {
      o->flags |= VMCTR_REGISTRY_INSECURE_HTTP;
      continue;
    }
    if (!v) {
      fprintf(stderr, "vmctr-image: %s needs a value\n", a);
      return 2;
    }
    k++;
    if (strcmp(a, "--platform") == 0) {
      o->platform = v;
    } else if (strcmp(a, "--ca-file") == 0) {
      o->ca_file = v;
    } else if (strcmp(a, "--mirror") == 0 && nm < 15) {
      mirrors[nm++] = v;
      o->mirrors = mirrors;
    } else if (strcmp(a, "--jobs") == 0) {
      o->max_connections = (uint32_t)strtoul(v, NULL, 10);
    } else if (strcmp(a, "--stall-timeout") == 0) {
      o->stall_timeout_ms = (uint32_t)(strtod(v, NULL) * 1000);
    } else if (strcmp(a, "--retries") == 0) {
      o->retries = (uint32_t)strtoul(v, NULL, 10);
    } else if (strcmp(a, "--docker-config") == 0) {
      o->docker_config = v;
    } else if (strcmp(a, "--user") == 0) {
      o->username = v;
      if (!fgets(password, (int)pwcap, stdin))
        password[0] = '\0';
      password[strcspn(password, "\r\n")] = '\0';
      o->password = password;
    } else {
      fprintf(stderr, "vmctr-image: unknown option %s\n", a);
      return 2;
    }
  }
  return 0;
}

static void print_strv(const char *name, const char *const *v) {
  printf("%s:", name);
  for (; v && *v; v++)
    printf(" \"%s\"", *v);
  printf("\n");
}

static int build(int argc, char **argv) {
  vmctr_image_build_options o = VMCTR_IMAGE_BUILD_OPTIONS_INIT;
  const char **cmd = calloc((size_t)argc + 1, sizeof(char *));
  const char **ep = calloc((size_t)argc + 1, sizeof(char *));
  const char **env = calloc((size_t)argc + 1, sizeof(char *));
  int nc = 0, ne = 0, nv = 0, r;
  if (argc < 2 || !cmd || !ep || !env) {
    usage(stderr);
    return 2;
  }
  for (int i = 2; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) {
      fprintf(stderr, "vmctr-image: %s needs a value\n", a);
      return 2;
    }
    if (strcmp(a, "--cmd") == 0)
      cmd[nc++] = v;
    else if (strcmp(a, "--entrypoint") == 0)
      ep[ne++] = v;
    else if (strcmp(a, "--env") == 0)
      env[nv++] = v;
    else if (strcmp(a, "--workdir") == 0)
      o.workdir = v;
    else if (strcmp(a, "--user") == 0)
      o.user = v;
    else if (strcmp(a, "--arch") == 0)
      o.architecture = v;
    else {
      fprintf(stderr, "vmctr-image: unknown option %s\n", a);
      return 2;
    }
    i++;
  }
  o.cmd = nc ? cmd : NULL;
  o.entrypoint = ne ? ep : NULL;
  o.env = nv ? env : NULL;
  o.progress = progress;
  r = vmctr_image_build_from_dir(argv[0], argv[1], &o);
  fputc('\n', stderr);
  free(cmd);
  free(ep);
  free(env);
  return r < 0 ? fail("build", r) : 0;
}

int main(int argc, char **argv) {
  const char *store_dir = getenv("VMCTR_IMAGE_STORE");
  static char default_store[4096];
  vmctr_image_store *store = NULL;
  vmctr_image *img = NULL;
  int i = 1, r, rc = 0;
  if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
    usage(stdout);
    return 0;
  }
  if (argc > 2 && strcmp(argv[1], "--store") == 0) {
    store_dir = argv[2];
    i = 3;
  }
  /* The same default store as vmctr-run's, so that a name imported here runs there. */
  if (!store_dir) {
    /* vmctr-run's rule (example_store_dir in example-util.c, which this
     * program does not link). */
    const char *e = getenv("VMCTR_STORE"), *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    int n;
    if (e && *e)
      n = snprintf(default_store, sizeof(default_store), "%s", e);
    else if (geteuid() == 0)
      n = snprintf(default_store, sizeof(default_store), "/var/lib/libvmctr");
    else if (xdg && *xdg)
      n = snprintf(default_store, sizeof(default_store), "%s/libvmctr", xdg);
    else
      n = snprintf(default_store, sizeof(default_store), "%s/.local/share/libvmctr",
                   home ? home : "/tmp");
    if (n < 0 || n >= (int)sizeof(default_store)) {
      fputs("vmctr-image: the default store's path is too long; use --store\n", stderr);
      return 1;
    }
    store_dir = default_store;
  }
  if (i >= argc) {
    usage(stderr);
    return 2;
  }
  const char *verb = argv[i++], *arg = i < argc ? argv[i] : NULL;
  if (strcmp(verb, "build") == 0)
    return build(argc - i, argv + i);
  if (strcmp(verb, "list") != 0 && strcmp(verb, "names") != 0 && !arg) {
    usage(stderr);
    return 2;
  }
  if ((r = vmctr_image_store_open(&store, store_dir, 0)) < 0)
    return fail(store_dir, r);
  if (strcmp(verb, "import") == 0) {
    vmctr_image_import_options o = VMCTR_IMAGE_IMPORT_OPTIONS_INIT;
    struct timespec a;
    o.progress = isatty(2) ? progress : NULL;
    if (i + 2 < argc && strcmp(argv[i + 1], "--name") == 0)
      o.name = argv[i + 2];
    else if (i + 1 < argc) {
      usage(stderr);
      vmctr_image_store_free(store);
      return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &a);
    r = vmctr_image_store_import(store, arg, &o, &img);
    rc = report(arg, r, img, &a, o.progress != NULL);
  } else if (strcmp(verb, "list") == 0) {
    char **list = NULL;
    if ((r = vmctr_image_store_list(store, &list)) < 0)
      rc = fail("list", r);
    for (int k = 0; r > 0 && list[k]; k++)
      printf("%s\n", list[k]);
    vmctr_strv_free(list);
  } else if (strcmp(verb, "pull") == 0) {
    vmctr_registry_options o = VMCTR_REGISTRY_OPTIONS_INIT;
    const char *mirrors[16] = {0};
    char password[1024] = "";
    struct timespec a;
    if ((rc = reg_opts(argc, argv, i + 1, &o, mirrors, password, sizeof(password))) == 0) {
      o.progress = isatty(2) ? progress : NULL;
      clock_gettime(CLOCK_MONOTONIC, &a);
      r = vmctr_image_pull(store, arg, &o, &img);
      rc = report(arg, r, img, &a, o.progress != NULL);
    }
    memset(password, 0, sizeof(password));
  } else if (strcmp(verb, "push") == 0) {
    vmctr_registry_options o = VMCTR_REGISTRY_OPTIONS_INIT;
    const char *mirrors[16] = {0};
    char password[1024] = "";
    if (i + 1 >= argc) {
      usage(stderr);
      rc = 2;
    } else if ((rc = reg_opts(argc, argv, i + 2, &o, mirrors, password, sizeof(password))) == 0) {
      o.progress = isatty(2) ? progress : NULL;
      if ((r = vmctr_image_push(store, arg, argv[i + 1], &o)) < 0)
        rc = fail(argv[i + 1], r);
      if (o.progress)
        fputc('\n', stderr);
    }
    memset(password, 0, sizeof(password));
  } else if (strcmp(verb, "names") == 0) {
    char **names = NULL, **digests = NULL;
    if ((r = vmctr_image_store_list_names(store, &names, &digests)) < 0)
      rc = fail("names", r);
    for (int k = 0; r > 0 && names[k]; k++)
      printf("%s\t%s\n", names[k], digests[k]);
    vmctr_strv_free(names);
    vmctr_strv_free(digests);
  } else if (strcmp(verb, "tag") == 0) {
    if (i + 1 >= argc) {
      usage(stderr);
      rc = 2;
    } else if ((r = vmctr_image_store_lookup(store, argv[i + 1], &img)) < 0 ||
               (r = vmctr_image_store_tag(store, arg, vmctr_image_digest(img))) < 0) {
      rc = fail(arg, r);
    }
  } else if (strcmp(verb, "untag") == 0) {
    if ((r = vmctr_image_store_untag(store, arg)) < 0)
      rc = fail(arg, r);
  } else if (strcmp(verb, "show") == 0) {
    if ((r = vmctr_image_store_lookup(store, arg, &img)) < 0) {
      rc = fail(arg, r);
    } else {
      printf("digest: %s\nrootfs: %s\narchitecture: %s\n", vmctr_image_digest(img),
             vmctr_image_rootfs(img), vmctr_image_architecture(img));
      print_strv("entrypoint", vmctr_image_entrypoint(img));
      print_strv("cmd", vmctr_image_cmd(img));
      print_strv("env", vmctr_image_env(img));
      printf("workdir: %s\nuser: %s\n", vmctr_image_workdir(img) ? vmctr_image_workdir(img) : "",
             vmctr_image_user(img) ? vmctr_image_user(img) : "");
    }
  } else if (strcmp(verb, "ext4") == 0) {
    char *path = NULL;
    if ((r = vmctr_image_store_lookup(store, arg, &img)) < 0 ||
        (r = vmctr_image_ext4(img, NULL, &path)) < 0)
      rc = fail(arg, r);
    else
      printf("%s\n", path);
    vmctr_free(path);
  } else if (strcmp(verb, "rm") == 0) {
    char digest[80] = "";
    if ((r = vmctr_image_store_lookup(store, arg, &img)) == 0)
      snprintf(digest, sizeof(digest), "%s", vmctr_image_digest(img));
    vmctr_image_free(img); /* an open handle would keep the image busy */
    img = NULL;
    if (r < 0 || (r = vmctr_image_store_remove(store, digest)) < 0)
      rc = fail(arg, r);
  } else {
    usage(stderr);
    rc = 2;
  }
  vmctr_image_free(img);
  vmctr_image_store_free(store);
  return rc;
}
