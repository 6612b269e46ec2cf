/* SPDX-License-Identifier: MIT */
/* vmctr-bootcfg: create, show, edit and validate boot-config files.
 * Uses only the public API. See doc/examples/vmctr-bootcfg.md. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <vmctr.h>

#define EXIT_LIB 1
#define EXIT_USAGE 2

static const char *prog = "vmctr-bootcfg";

static void usage_main(FILE *f) {
  fprintf(f,
          "usage: %s COMMAND FILE [OPTIONS]\n"
          "\n"
          "Commands:\n"
          "  create FILE [OPTIONS]    write a new boot config (refuses to replace one without --force)\n"
          "  show FILE [--json]       print the keys and values, or the JSON text\n"
          "  edit FILE [OPTIONS]      change keys of an existing boot config\n"
          "  validate FILE            check the config against this host\n"
          "\n"
          "Run '%s COMMAND --help' for the options of a command.\n"
          "Exit status: 0 success, 1 library error, 2 usage error.\n",
          prog, prog);
}

static void usage_options(FILE *f, const char *cmd, int edit) {
  fprintf(f,
          "usage: %s %s FILE [OPTIONS]\n"
          "\n"
          "Options (applied in the order given):\n"
          "  --kernel PATH        kernel image\n"
          "  --initfs PATH        initial filesystem (cpio archive)\n"
          "  --cmdline STR        replace the kernel arguments (double quotes group blanks)\n"
          "  --append ARG         add one kernel argument\n"
          "  --cpus N             number of vCPUs\n"
          "  --memory SIZE        guest memory: bytes or 512M, 2GiB, ...\n"
          "  --virtualization     request nested virtualization (checked before writing)\n"
          "  --rosetta            request Rosetta (macOS on Apple silicon)\n"
          "  --modules DIR        kernel modules for a stock kernel (DIR holds a load-order file)\n"
          "  --firmware-tables MODE  describe devices in firmware tables: auto, on or off\n"
          "  --set KEY=VALUE      set any key (repeatable)\n"
          "%s"
          "%s"
          "  --no-validate        save without checking the config against this host\n"
          "  --help               show this help\n",
          prog, cmd, edit ? "  --unset KEY          remove KEY (a known key gets its default; repeatable)\n" : "",
          edit ? "" : "  --force              replace FILE if it exists\n");
}

/* Print the library's message for the failed call and return the exit code. */
static int lib_fail(const char *what) {
  const vmctr_error *e = vmctr_error_last();
  if (what)
    fprintf(stderr, "%s: %s: %s\n", prog, what, e->message);
  else
    fprintf(stderr, "%s: %s\n", prog, e->message);
  return EXIT_LIB;
}

static int usage_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_fail(const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "%s: ", prog);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nTry '%s --help'.\n", prog);
  return EXIT_USAGE;
}

/* One edit, kept in command-line order so "--cmdline X --append Y" means X Y. */
struct op {
  const char *key; /* a generic key, or NULL for --append */
  const char *value;
};

struct opts {
  struct op *ops;
  size_t nops;
  int virtualization, force, no_validate, json;
};

static int push(struct opts *o, const char *key, const char *value) {
  struct op *grown = realloc(o->ops, (o->nops + 1) * sizeof(*grown));
  if (!grown) {
    fprintf(stderr, "%s: out of memory\n", prog);
    return -1;
  }
  o->ops = grown;
  o->ops[o->nops++] = (struct op){key, value};
  return 0;
}

/* Returned for "--name" given last, with no value after it. */
static const char missing_value[] = "";

/* Accept "--name VALUE" and "--name=VALUE". */
static const char *opt_value(int argc, char **argv, int *i, const char *name) {
  size_t n = strlen(name);
  if (strncmp(argv[*i], name, n) != 0)
    return NULL;
  if (argv[*i][n] == '=')
    return argv[*i] + n + 1;
  if (argv[*i][n] != '\0')
    return NULL;
  if (*i + 1 >= argc)
    return missing_value;
  return argv[++*i];
}

/* Parse the options after FILE. Returns 0, EXIT_USAGE, or -1 after --help. */
static int parse_opts(int argc, char **argv, int first, const char *cmd, struct opts *o) {
  static const struct {
    const char *flag, *key;
  } valued[] = {{"--kernel", "kernel"}, {"--initfs", "initfs"}, {"--cmdline", "cmdline"},
                {"--cpus", "cpus"},     {"--memory", "memory"}, {"--modules", "modules"},
                {"--firmware-tables", "firmware_tables"},       {"--append", NULL}};
  int edit = strcmp(cmd, "edit") == 0, create = strcmp(cmd, "create") == 0;
  for (int i = first; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    size_t k;
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage_options(stdout, cmd, edit);
      return -1;
    }
    for (k = 0; k < sizeof(valued) / sizeof(valued[0]); k++)
      if ((v = opt_value(argc, argv, &i, valued[k].flag)))
        break;
    if (v == missing_value)
      return usage_fail("%s needs a value", a);
    if (v) {
      if (push(o, valued[k].key, v) < 0)
        return EXIT_LIB;
    } else if (strcmp(a, "--virtualization") == 0) {
      o->virtualization = 1;
      if (push(o, "nested_virtualization", "true") < 0)
        return EXIT_LIB;
    } else if (strcmp(a, "--rosetta") == 0) {
      if (push(o, "rosetta", "true") < 0)
        return EXIT_LIB;
    } else if ((v = opt_value(argc, argv, &i, "--set"))) {
      const char *eq = strchr(v, '=');
      if (v == missing_value)
        return usage_fail("--set needs KEY=VALUE");
      if (!eq || eq == v)
        return usage_fail("--set needs KEY=VALUE, got '%s'", v);
      /* Split in place: argv strings are ours to modify. */
      ((char *)eq)[0] = '\0';
      if (push(o, v, eq + 1) < 0)
        return EXIT_LIB;
    } else if (edit && (v = opt_value(argc, argv, &i, "--unset"))) {
      if (!*v)
        return usage_fail("--unset needs a KEY");
      if (push(o, v, NULL) < 0)
        return EXIT_LIB;
    } else if (create && strcmp(a, "--force") == 0) {
      o->force = 1;
    } else if (strcmp(a, "--no-validate") == 0) {
      o->no_validate = 1;
    } else {
      return usage_fail("unknown option '%s'", a);
    }
  }
  return 0;
}

/* As apple/container's MachineCreate does: refuse before anything is written. */
static int check_nested(vmctr_caps **caps) {
  if (vmctr_caps_probe(caps, VMCTR_CAPS_PROBE_QUICK) < 0)
    return lib_fail("probing the host");
  if (vmctr_caps_require_nested_virtualization(*caps) < 0)
    return lib_fail(NULL);
  return 0;
}

static int apply(vmctr_bootcfg *cfg, const struct opts *o) {
  for (size_t i = 0; i < o->nops; i++) {
    int r = o->ops[i].key ? vmctr_bootcfg_set(cfg, o->ops[i].key, o->ops[i].value)
                          : vmctr_bootcfg_add_cmdline_arg(cfg, o->ops[i].value);
    if (r < 0)
      return lib_fail(NULL);
  }
  return 0;
}

static int cmd_write(const char *cmd, int argc, char **argv) {
  struct opts o = {0};
  vmctr_bootcfg *cfg = NULL;
  vmctr_caps *caps = NULL;
  const char *file;
  struct stat st;
  int create = strcmp(cmd, "create") == 0, rc;

  if (argc >= 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
    usage_options(stdout, cmd, !create);
    return 0;
  }
  if (argc < 3 || argv[2][0] == '-')
    return usage_fail("%s: missing FILE", cmd);
  file = argv[2];
  rc = parse_opts(argc, argv, 3, cmd, &o);
  if (rc != 0) {
    free(o.ops);
    return rc < 0 ? 0 : rc;
  }
  if (create && !o.force && stat(file, &st) == 0) {
    fprintf(stderr, "%s: %s already exists; use --force to replace it\n", prog, file);
    rc = EXIT_LIB;
    goto out;
  }
  if (o.virtualization && (rc = check_nested(&caps)) != 0)
    goto out;
  if ((create ? vmctr_bootcfg_new(&cfg) : vmctr_bootcfg_load(&cfg, file)) < 0) {
    rc = lib_fail(NULL);
    goto out;
  }
  if ((rc = apply(cfg, &o)) != 0)
    goto out;
  if (!o.no_validate && vmctr_bootcfg_validate(cfg, caps) < 0) {
    rc = lib_fail("not saved");
    fprintf(stderr, "%s: fix the problem, or save anyway with --no-validate\n", prog);
    goto out;
  }
  if (vmctr_bootcfg_save(cfg, file) < 0)
    rc = lib_fail(NULL);
out:
  vmctr_bootcfg_free(cfg);
  vmctr_caps_free(caps);
  free(o.ops);
  return rc;
}

static int cmd_show(int argc, char **argv) {
  vmctr_bootcfg *cfg = NULL;
  const char *file = NULL;
  char **keys = NULL, *text = NULL;
  int json = 0, rc = 0, n;

  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
      printf("usage: %s show FILE [--json]\n\n"
             "Print each key that is set as KEY=VALUE (free keys last), or with --json\n"
             "the JSON text the library would save.\n",
             prog);
      return 0;
    } else if (strcmp(argv[i], "--json") == 0) {
      json = 1;
    } else if (argv[i][0] == '-' || file) {
      return usage_fail("show: unexpected argument '%s'", argv[i]);
    } else {
      file = argv[i];
    }
  }
  if (!file)
    return usage_fail("show: missing FILE");
  if (vmctr_bootcfg_load(&cfg, file) < 0)
    return lib_fail(NULL);
  if (json) {
    if (vmctr_bootcfg_to_json(cfg, &text) < 0)
      rc = lib_fail(NULL);
    else
      printf("%s\n", text);
    goto out;
  }
  if ((n = vmctr_bootcfg_keys(cfg, &keys)) < 0) {
    rc = lib_fail(NULL);
    goto out;
  }
  for (int i = 0; i < n; i++) {
    char *v = NULL;
    if (vmctr_bootcfg_get(cfg, keys[i], &v) < 0) {
      rc = lib_fail(keys[i]);
      goto out;
    }
    printf("%s=%s\n", keys[i], v);
    vmctr_free(v);
  }
out:
  vmctr_free(text);
  vmctr_strv_free(keys);
  vmctr_bootcfg_free(cfg);
  return rc;
}

static int cmd_validate(int argc, char **argv) {
  vmctr_bootcfg *cfg = NULL;
  int rc = 0;
  if (argc == 3 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
    printf("usage: %s validate FILE\n\n"
           "Load FILE and check it against this host: kernel and initfs files,\n"
           "vCPU and memory limits, nested virtualization and Rosetta.\n",
           prog);
    return 0;
  }
  if (argc != 3 || argv[2][0] == '-')
    return usage_fail("validate: expected exactly one FILE");
  if (vmctr_bootcfg_load(&cfg, argv[2]) < 0)
    return lib_fail(NULL);
  if (vmctr_bootcfg_validate(cfg, NULL) < 0)
    rc = lib_fail(argv[2]);
  else
    printf("%s: ok\n", argv[2]);
  vmctr_bootcfg_free(cfg);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage_main(stderr);
    return EXIT_USAGE;
  }
  if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage_main(stdout);
    return 0;
  }
  if (strcmp(argv[1], "create") == 0 || strcmp(argv[1], "edit") == 0)
    return cmd_write(argv[1], argc, argv);
  if (strcmp(argv[1], "show") == 0)
    return cmd_show(argc, argv);
  if (strcmp(argv[1], "validate") == 0)
    return cmd_validate(argc, argv);
  return usage_fail("unknown command '%s'", argv[1]);
}
