/* SPDX-License-Identifier: MIT */
/* vmctr-run: run a command in a new container, in its own VM, like
 * `docker run`. See doc/examples/vmctr-run.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <vmctr.h>

#include "example-util.h"

#define EXIT_ERROR 125 /* like docker run: the runner failed, not the command */

struct opts {
  const char *pull, *platform, *registry_ca; /* image resolution: --pull, --platform, --registry-ca */
  const char *image, *memory, *workdir, *user, *hostname, *name, *kernel, *initfs, *store, *modules;
  uint32_t cpus;
  bool tty, interactive, virtualization, rm, quiet;
  const char **env;
  size_t nenv;
  const char **mounts;
  size_t nmounts;
  const char **cap_add, **cap_drop;
  size_t ncap_add, ncap_drop;
  bool privileged, unconfined;
  const char **networks, **publish, **dns, **add_hosts;
  size_t nnetworks, npublish, ndns, nadd_hosts;
  const char *ip, *mac, *state_dir;
  uint64_t rootfs_size; /* 0: the library's default */
  const char *arch; /* --arch: the guest's architecture (NULL: the host's) */
  char **args;
  size_t nargs;
};

static void usage(FILE *f) {
  fputs("Usage: vmctr-run [OPTIONS] [-- CMD ARGS...]\n"
        "Run a command in a new Linux container, in its own lightweight VM.\n\n"
        "  --image IMAGE       an OCI layout directory, oci-archive or docker-archive; a name\n"
        "                      in the store (\"mybox:1\"); or a registry reference, pulled\n"
        "                      on first use (default: a busybox image built from the host's\n"
        "                      busybox-static)\n"
        "  --pull WHEN         always | missing (default) | never: when to pull a reference\n"
        "  --platform P        the platform to pull from a multi-platform image (linux/arm64)\n"
        "  --registry-ca PEM   a CA file trusted for the registry, besides the system's\n"
        "  --cpus N            vCPUs (default 1)\n"
        "  --memory SIZE       VM memory, e.g. 512M, 1G (default 512M)\n"
        "  --rootfs-size SIZE  the root disk's size, e.g. 20G (default 8G, sparse: the host\n"
        "                      stores only what the container writes)\n"
        "  -e, --env K=V       set an environment variable (repeatable)\n"
        "  -w, --workdir DIR   working directory in the container\n"
        "  -u, --user USER     uid[:gid] or name[:group] from the image's /etc/passwd\n"
        "  -t, --tty           allocate a terminal\n"
        "  -i, --interactive   connect stdin\n"
        "  --mount SPEC        e.g. type=share,source=/srv,target=/srv,readonly (repeatable;\n"
        "                      see doc/mount.md)\n"
        "  --hostname NAME     container hostname (default: the name)\n"
        "  --cap-add CAP       add a capability, e.g. NET_ADMIN, or ALL (repeatable)\n"
        "  --cap-drop CAP      drop a capability, e.g. CHOWN, or ALL (repeatable)\n"
        "  --security-opt seccomp=unconfined\n"
        "                      run without the default seccomp profile\n"
        "  --privileged        all capabilities, no seccomp, unmasked /proc and /sys,\n"
        "                      writable cgroup (see doc/security-guest.md)\n"
        "  --network NET       isolated (default: a NAT of its own), none (loopback\n"
        "                      only), or a network made by vmctr-network (repeatable)\n"
        "  -p, --publish [HOST_IP:]HOST_PORT:GUEST_PORT[/udp]\n"
        "                      publish a port of the first network (repeatable)\n"
        "  --ip ADDR           IPv4 address on the first network (default: the next free)\n"
        "  --mac MAC           MAC on the first network (default: random, local)\n"
        "  --dns ADDR          DNS server for /etc/resolv.conf (repeatable)\n"
        "  --add-host NAME:IP  an /etc/hosts entry (repeatable)\n"
        "  --state-dir DIR     where networks live (default: $VMCTR_STATE_DIR, else the\n"
        "                      library's per-user default; see vmctr-network)\n"
        "  --name ID           container id (default: vmctr-<random>)\n"
        "  --virtualization    expose nested virtualization to the container\n"
        "  --rm                remove the container's disk when it exits\n"
        "  --arch ARCH         guest architecture: x86_64 or aarch64 (alias amd64, arm64;\n"
        "                      default: the host's); another one than the host's is\n"
        "                      emulated (TCG), wants an --image for it and its kernel\n"
        "                      (default: $VMCTR_KERNEL_AARCH64, then kernel/out/Image-arm64)\n"
        "  --kernel PATH       guest kernel (default: $VMCTR_KERNEL, then the built-in search)\n"
        "  --initfs PATH       initial filesystem (default: built and cached by the library)\n"
        "  --modules DIR       modules for a stock kernel, with their load-order file\n"
        "                      (kernel/fetch-debian-kernel.sh writes kernel/out/debian/modules)\n"
        "  --store DIR         image store (default: $VMCTR_STORE, /var/lib/libvmctr as root,\n"
        "                      else ~/.local/share/libvmctr)\n"
        "  -q, --quiet         no progress output\n"
        "  -h, --help          this help\n\n"
        "Exit status: the command's, 128+N if it was killed by signal N, 125 if vmctr-run failed.\n",
        f);
}

static int parse_size(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno || end == s)
    return -1;
  uint64_t mul = 1;
  switch (*end) {
  case 'k': case 'K': mul = 1ull << 10; end++; break;
  case 'm': case 'M': mul = 1ull << 20; end++; break;
  case 'g': case 'G': mul = 1ull << 30; end++; break;
  case '\0': break;
  default: return -1;
  }
  if ((*end == 'i' || *end == 'B') && end[-1] != *end)
    end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
  if (*end || v > UINT64_MAX / mul)
    return -1;
  *out = v * mul;
  return 0;
}

static int parse_args(int argc, char **argv, struct opts *o) {
  enum { O_PULL = 200, O_PLATFORM, O_REGISTRY_CA, O_IMAGE = 256, O_CPUS, O_MEMORY, O_MOUNT, O_HOSTNAME, O_NAME, O_VIRT, O_RM, O_KERNEL,
         O_INITFS, O_STORE, O_MODULES, O_CAP_ADD, O_CAP_DROP, O_SECOPT, O_PRIVILEGED,
         O_NETWORK, O_IP, O_MAC, O_DNS, O_ADD_HOST, O_STATE_DIR, O_ROOTFS_SIZE,
         O_ARCH };
  static const struct option lo[] = {
      {"image", required_argument, 0, O_IMAGE},   {"cpus", required_argument, 0, O_CPUS},
      {"pull", required_argument, 0, O_PULL},     {"platform", required_argument, 0, O_PLATFORM},
      {"registry-ca", required_argument, 0, O_REGISTRY_CA},
      {"memory", required_argument, 0, O_MEMORY}, {"env", required_argument, 0, 'e'},
      {"workdir", required_argument, 0, 'w'},     {"user", required_argument, 0, 'u'},
      {"tty", no_argument, 0, 't'},               {"interactive", no_argument, 0, 'i'},
      {"mount", required_argument, 0, O_MOUNT},   {"hostname", required_argument, 0, O_HOSTNAME},
      {"name", required_argument, 0, O_NAME},     {"virtualization", no_argument, 0, O_VIRT},
      {"rm", no_argument, 0, O_RM},               {"kernel", required_argument, 0, O_KERNEL},
      {"initfs", required_argument, 0, O_INITFS}, {"store", required_argument, 0, O_STORE},
      {"modules", required_argument, 0, O_MODULES},
      {"cap-add", required_argument, 0, O_CAP_ADD}, {"cap-drop", required_argument, 0, O_CAP_DROP},
      {"security-opt", required_argument, 0, O_SECOPT},
      {"privileged", no_argument, 0, O_PRIVILEGED},
      {"network", required_argument, 0, O_NETWORK}, {"publish", required_argument, 0, 'p'},
      {"ip", required_argument, 0, O_IP},         {"mac", required_argument, 0, O_MAC},
      {"dns", required_argument, 0, O_DNS},       {"add-host", required_argument, 0, O_ADD_HOST},
      {"state-dir", required_argument, 0, O_STATE_DIR},
      {"rootfs-size", required_argument, 0, O_ROOTFS_SIZE},
      {"arch", required_argument, 0, O_ARCH},
      {"quiet", no_argument, 0, 'q'},             {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  o->cpus = 1;
  o->env = calloc((size_t)argc, sizeof(char *));
  o->mounts = calloc((size_t)argc, sizeof(char *));
  o->cap_add = calloc((size_t)argc, sizeof(char *));
  o->cap_drop = calloc((size_t)argc, sizeof(char *));
  o->networks = calloc((size_t)argc, sizeof(char *));
  o->publish = calloc((size_t)argc, sizeof(char *));
  o->dns = calloc((size_t)argc, sizeof(char *));
  o->add_hosts = calloc((size_t)argc, sizeof(char *));
  int c;
  while ((c = getopt_long(argc, argv, "+e:w:u:p:tiqh", lo, NULL)) != -1) {
    switch (c) {
    case O_IMAGE: o->image = optarg; break;
    case O_PULL:
      if (strcmp(optarg, "always") != 0 && strcmp(optarg, "missing") != 0 &&
          strcmp(optarg, "never") != 0) {
        fprintf(stderr, "vmctr-run: --pull %s: give always, missing or never\n", optarg);
        return -1;
      }
      o->pull = optarg;
      break;
    case O_PLATFORM: o->platform = optarg; break;
    case O_REGISTRY_CA: o->registry_ca = optarg; break;
    case O_CPUS: {
      char *end;
      unsigned long v = strtoul(optarg, &end, 10);
      if (*end || v == 0 || v > 256) {
        fprintf(stderr, "vmctr-run: --cpus %s: give a number from 1 to 256\n", optarg);
        return -1;
      }
      o->cpus = (uint32_t)v;
      break;
    }
    case O_MEMORY: o->memory = optarg; break;
    case 'e':
      if (!strchr(optarg, '=') || optarg[0] == '=') {
        fprintf(stderr, "vmctr-run: -e %s: expected KEY=VALUE\n", optarg);
        return -1;
      }
      o->env[o->nenv++] = optarg;
      break;
    case 'w': o->workdir = optarg; break;
    case 'u': o->user = optarg; break;
    case 't': o->tty = true; break;
    case 'i': o->interactive = true; break;
    case O_MOUNT: o->mounts[o->nmounts++] = optarg; break;
    case O_HOSTNAME: o->hostname = optarg; break;
    case O_NAME: o->name = optarg; break;
    case O_VIRT: o->virtualization = true; break;
    case O_RM: o->rm = true; break;
    case O_KERNEL: o->kernel = optarg; break;
    case O_ARCH: o->arch = optarg; break;
    case O_INITFS: o->initfs = optarg; break;
    case O_STORE: o->store = optarg; break;
    case O_MODULES: o->modules = optarg; break;
    case O_CAP_ADD: o->cap_add[o->ncap_add++] = optarg; break;
    case O_CAP_DROP: o->cap_drop[o->ncap_drop++] = optarg; break;
    case O_PRIVILEGED: o->privileged = true; break;
    case O_SECOPT:
      if (strcmp(optarg, "seccomp=unconfined") != 0 && strcmp(optarg, "seccomp:unconfined") != 0) {
        fprintf(stderr, "vmctr-run: --security-opt %s: only seccomp=unconfined is supported\n",
                optarg);
        return -1;
      }
      o->unconfined = true;
      break;
    case O_NETWORK: o->networks[o->nnetworks++] = optarg; break;
    case 'p': o->publish[o->npublish++] = optarg; break;
    case O_IP: o->ip = optarg; break;
    case O_MAC: o->mac = optarg; break;
    case O_DNS: o->dns[o->ndns++] = optarg; break;
    case O_ADD_HOST:
      if (!strchr(optarg, ':') || optarg[0] == ':') {
        fprintf(stderr, "vmctr-run: --add-host %s: expected NAME:IP\n", optarg);
        return -1;
      }
      o->add_hosts[o->nadd_hosts++] = optarg;
      break;
    case O_STATE_DIR: o->state_dir = optarg; break;
    case O_ROOTFS_SIZE:
      if (parse_size(optarg, &o->rootfs_size) < 0 || o->rootfs_size < (1ull << 20) ||
          o->rootfs_size > VMCTR_IMAGE_WRITABLE_MAX_SIZE) {
        fprintf(stderr, "vmctr-run: --rootfs-size %s: expected a size from 1M to 1024G, "
                        "such as 20G\n", optarg);
        return -1;
      }
      break;
    case 'q': o->quiet = true; break;
    case 'h': usage(stdout); exit(0);
    default: usage(stderr); return -1;
    }
  }
  o->args = argv + optind;
  o->nargs = (size_t)(argc - optind);
  if (o->nnetworks == 0)
    o->networks[o->nnetworks++] = "isolated";
  for (size_t i = 0; i < o->nnetworks; i++)
    if (strcmp(o->networks[i], "none") == 0 && o->nnetworks > 1) {
      fprintf(stderr, "vmctr-run: --network none cannot be combined with another network\n");
      return -1;
    }
  if (strcmp(o->networks[0], "none") == 0 && (o->npublish || o->ip || o->mac)) {
    fprintf(stderr, "vmctr-run: --network none has no interface for -p, --ip or --mac\n");
    return -1;
  }
  return 0;
}

static int fail(const char *what) {
  const vmctr_error *e = vmctr_error_last();
  fprintf(stderr, "vmctr-run: %s: %s\n", what, e->message && *e->message ? e->message : vmctr_strerror(e->code));
  return EXIT_ERROR;
}

/* ---- the terminal ---- */

static struct termios saved_tio;
static bool tio_saved;

static void restore_tty(void) {
  if (tio_saved)
    tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
  tio_saved = false;
}

static void raw_tty(void) {
  if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) < 0)
    return;
  struct termios t = saved_tio;
  cfmakeraw(&t); /* the guest's pty does the line discipline */
  if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) == 0) {
    tio_saved = true;
    atexit(restore_tty);
  }
}

static void window_size(uint32_t *rows, uint32_t *cols) {
  struct winsize ws;
  *rows = 24;
  *cols = 80;
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col) {
    *rows = ws.ws_row;
    *cols = ws.ws_col;
  }
}

/* ---- assembling the container ---- */

static int make_bootcfg(const struct opts *o, vmctr_bootcfg **out) {
  vmctr_bootcfg *b;
  if (vmctr_bootcfg_new(&b) < 0)
    return fail("boot config");
  uint64_t mem = VMCTR_BOOTCFG_DEFAULT_MEMORY;
  if (o->memory && parse_size(o->memory, &mem) < 0) {
    fprintf(stderr, "vmctr-run: --memory %s: expected a size such as 512M or 1G\n", o->memory);
    vmctr_bootcfg_free(b);
    return EXIT_ERROR;
  }
  if (o->arch && vmctr_bootcfg_set_architecture(b, o->arch) < 0) {
    fprintf(stderr, "vmctr-run: --arch %s: %s\n", o->arch, vmctr_error_last()->message);
    vmctr_bootcfg_free(b);
    return EXIT_ERROR;
  }
  const char *kernel = o->kernel ? o->kernel
                                 : example_default_kernel_for(vmctr_bootcfg_architecture(b));
  if ((kernel && vmctr_bootcfg_set_kernel(b, kernel) < 0) ||
      (o->initfs && vmctr_bootcfg_set_initfs(b, o->initfs) < 0) ||
      (o->modules && vmctr_bootcfg_set_modules(b, o->modules) < 0) ||
      vmctr_bootcfg_set_cpus(b, o->cpus) < 0 || vmctr_bootcfg_set_memory(b, mem) < 0 ||
      vmctr_bootcfg_set_nested_virtualization(b, o->virtualization) < 0) {
    vmctr_bootcfg_free(b);
    return fail("boot config");
  }
  *out = b;
  return 0;
}

static int make_process(const struct opts *o, vmctr_process_config **out) {
  vmctr_process_config *p;
  if (vmctr_process_config_new(&p) < 0)
    return fail("process config");
  int r = 0;
  if (o->nargs)
    r = vmctr_process_config_set_args(p, (const char *const *)o->args, o->nargs);
  for (size_t i = 0; r == 0 && i < o->nenv; i++) {
    char *kv = strdup(o->env[i]), *eq = strchr(kv, '=');
    *eq = '\0';
    r = vmctr_process_config_set_env(p, kv, eq + 1);
    free(kv);
  }
  if (r == 0 && o->workdir)
    r = vmctr_process_config_set_cwd(p, o->workdir);
  if (r == 0 && o->user)
    r = vmctr_process_config_set_user(p, o->user);
  /* As docker run: with --cap-add ALL the drops come after the adds, else
   * before them (--cap-drop ALL --cap-add X leaves X), whatever the order. */
  bool add_all = false;
  for (size_t i = 0; i < o->ncap_add; i++)
    add_all |= strcasecmp(o->cap_add[i], "ALL") == 0 || strcasecmp(o->cap_add[i], "CAP_ALL") == 0;
  if (r == 0 && add_all)
    r = vmctr_process_config_add_capability(p, "ALL");
  for (size_t i = 0; r == 0 && i < o->ncap_drop; i++)
    r = vmctr_process_config_drop_capability(p, o->cap_drop[i]);
  for (size_t i = 0; r == 0 && i < o->ncap_add; i++)
    r = vmctr_process_config_add_capability(p, o->cap_add[i]);
  if (r == 0 && o->unconfined)
    r = vmctr_process_config_set_seccomp(p, VMCTR_SECCOMP_UNCONFINED);
  if (r == 0 && o->privileged)
    r = vmctr_process_config_set_privileged(p, 1);
  if (r == 0 && o->tty) {
    /* Like docker run -t: the terminal's type, unless -e gave one. */
    bool has_term = false;
    for (size_t i = 0; i < o->nenv; i++)
      has_term |= strncmp(o->env[i], "TERM=", 5) == 0;
    const char *term = getenv("TERM");
    if (!has_term)
      r = vmctr_process_config_set_env(p, "TERM", term && *term ? term : "xterm");
  }
  if (r == 0 && o->tty) {
    uint32_t rows, cols;
    window_size(&rows, &cols);
    r = vmctr_process_config_set_terminal(p, 1, rows, cols);
  }
  if (r == 0)
    r = vmctr_process_config_set_stdio(p, o->interactive ? STDIN_FILENO : VMCTR_STDIO_NULL,
                                       STDOUT_FILENO, STDERR_FILENO);
  if (r < 0) {
    vmctr_process_config_free(p);
    return fail("process config");
  }
  *out = p;
  return 0;
}

/* --network: "isolated" is a NAT of the container's own, "none" nothing
 * (loopback only), any other name a network of the state directory. */
static int add_networks(const struct opts *o, vmctr_container_config *c) {
  const char *state = o->state_dir ? o->state_dir : getenv("VMCTR_STATE_DIR");
  int r = 0;
  for (size_t i = 0; r == 0 && i < o->nnetworks; i++) {
    const char *name = o->networks[i];
    if (strcmp(name, "none") == 0)
      return 0;
    vmctr_network *n = NULL;
    if (strcmp(name, "isolated") == 0)
      r = vmctr_network_new(&n, "isolated", VMCTR_NETWORK_ISOLATED_NAT);
    else
      r = vmctr_network_open(&n, state && *state ? state : NULL, name);
    if (r == 0)
      r = vmctr_container_config_add_network(c, n, i == 0 ? o->ip : NULL, i == 0 ? o->mac : NULL);
    vmctr_network_free(n);
  }
  for (size_t i = 0; r == 0 && i < o->npublish; i++)
    r = vmctr_container_config_publish_port(c, o->publish[i]);
  return r;
}

/* IMAGE is a path (imported as it is), a name of the store, or a registry
 * reference pulled per --pull (as docker run does); 0 or -1. */
static int resolve_image(const struct opts *o) {
  struct stat pst;
  vmctr_image_store *store = NULL;
  vmctr_image *img = NULL;
  const char *when = o->pull ? o->pull : "missing";
  char *dir = NULL;
  int rc = -1;
  if (!o->image || stat(o->image, &pst) == 0 || strcmp(when, "never") == 0)
    return 0;
  if (!(dir = example_store_dir(o->store)) || vmctr_image_store_open(&store, dir, 0) < 0) {
    example_fail("vmctr-run", "image store");
    goto out;
  }
  if (strcmp(when, "missing") == 0 && vmctr_image_store_lookup(store, o->image, &img) == 0) {
    rc = 0;
    goto out;
  }
  vmctr_registry_options ro = VMCTR_REGISTRY_OPTIONS_INIT;
  struct example_progress prog = {.quiet = o->quiet, .what = "pulling"};
  ro.platform = o->platform;
  ro.ca_file = o->registry_ca;
  ro.progress = example_progress_fn;
  ro.userdata = &prog;
  int r = vmctr_image_pull(store, o->image, &ro, NULL);
  example_progress_end(&prog);
  if (r < 0)
    example_fail("vmctr-run", o->image);
  else
    rc = 0;
out:
  vmctr_image_free(img);
  vmctr_image_store_free(store);
  free(dir);
  return rc;
}

static int make_config(const struct opts *o, const vmctr_image *img, vmctr_container_config **out) {
  vmctr_container_config *c;
  vmctr_process_config *p = NULL;
  if (vmctr_container_config_new(&c) < 0)
    return fail("container config");
  int r = make_process(o, &p);
  if (r) {
    vmctr_container_config_free(c);
    return r;
  }
  r = vmctr_container_config_set_process(c, p);
  vmctr_process_config_free(p);
  if (r == 0)
    r = vmctr_container_config_set_image(c, img);
  if (r == 0 && o->hostname)
    r = vmctr_container_config_set_hostname(c, o->hostname);
  for (size_t i = 0; r == 0 && i < o->nmounts; i++) {
    vmctr_mount *m;
    if ((r = vmctr_mount_parse(&m, o->mounts[i])) == 0) {
      r = vmctr_container_config_add_mount(c, m);
      vmctr_mount_free(m);
    }
  }
  r = r < 0 ? r : add_networks(o, c);
  for (size_t i = 0; r == 0 && i < o->ndns; i++)
    r = vmctr_container_config_add_dns_server(c, o->dns[i]);
  for (size_t i = 0; r == 0 && i < o->nadd_hosts; i++) {
    /* NAME:IP, where an IPv6 address has colons of its own. */
    char *kv = strdup(o->add_hosts[i]), *colon = strchr(kv, ':');
    *colon = '\0';
    r = vmctr_container_config_add_host(c, kv, colon + 1);
    free(kv);
  }
  if (r < 0) {
    vmctr_container_config_free(c);
    return fail("container config");
  }
  *out = c;
  return 0;
}

/* ---- running it ---- */

/* The guest numbers signals as Linux does; the host may not (macOS). */
static int32_t guest_signal(int host) {
  switch (host) {
  case SIGINT: return VMCTR_SIGINT;
  case SIGTERM: return VMCTR_SIGTERM;
  case SIGHUP: return VMCTR_SIGHUP;
  case SIGQUIT: return VMCTR_SIGQUIT;
  default: return VMCTR_SIGTERM;
  }
}

static int run(vmctr_container *c, const struct opts *o) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGQUIT);
  sigaddset(&set, SIGWINCH);
  sigprocmask(SIG_BLOCK, &set, NULL);
  int sfd = signalfd(-1, &set, SFD_CLOEXEC);

  if (vmctr_container_start(c) < 0)
    return fail("start");
  if (o->tty && o->interactive)
    raw_tty();

  int32_t code = -1, sig = -1;
  vmctr_process *init = vmctr_container_init_process(c);
  /* The init process's fd says it exited; the container's, that its VM died. */
  struct pollfd pf[3] = {{sfd, POLLIN, 0}, {vmctr_container_event_fd(c), POLLIN, 0},
                         {vmctr_process_event_fd(init), POLLIN, 0}};
  for (;;) {
    int r = vmctr_process_wait(init, 0, &code, &sig);
    if (r == 0)
      break;
    if (r != VMCTR_ETIMEDOUT) {
      restore_tty();
      return fail("wait");
    }
    if (poll(pf, 3, -1) < 0 && errno != EINTR)
      break;
    if (pf[1].revents)
      vmctr_container_dispatch(c);
    if (pf[2].revents)
      vmctr_process_dispatch(init);
    if (pf[0].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof(si)) != sizeof(si))
        continue;
      if (si.ssi_signo == SIGWINCH) {
        uint32_t rows, cols;
        window_size(&rows, &cols);
        if (o->tty)
          vmctr_process_resize(init, rows, cols);
      } else {
        vmctr_process_kill(init, guest_signal((int)si.ssi_signo));
      }
    }
  }
  restore_tty();
  close(sfd);
  return sig > 0 ? 128 + sig : code;
}

static void free_opts(struct opts *o) {
  free(o->env);
  free(o->mounts);
  free(o->cap_add);
  free(o->cap_drop);
  free(o->networks);
  free(o->publish);
  free(o->dns);
  free(o->add_hosts);
}

int main(int argc, char **argv) {
  example_log_from_env();
  struct opts o = {0};
  if (parse_args(argc, argv, &o) < 0) {
    free_opts(&o);
    return EXIT_ERROR;
  }

  int rc = EXIT_ERROR;
  struct example_setup st;
  vmctr_bootcfg *boot = NULL;
  vmctr_container_config *cfg = NULL;
  vmctr_container *c = NULL;
  char name[80];

  if (o.name) {
    snprintf(name, sizeof(name), "%s", o.name);
  } else {
    unsigned r = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    snprintf(name, sizeof(name), "vmctr-%08x", r);
  }
  /* Fail early on arguments, before any image work. */
  if ((rc = make_bootcfg(&o, &boot)))
    goto out_early;
  rc = EXIT_ERROR;
  if (resolve_image(&o) != 0)
    goto out_early;
  /* The image's platform follows the guest: linux/arm64 for an aarch64 guest. */
  const char *oci_arch = example_oci_arch(vmctr_bootcfg_architecture(boot));
  if (oci_arch && !o.image && strcmp(oci_arch, example_oci_arch(NULL)) != 0) {
    fprintf(stderr, "vmctr-run: --arch %s: the default image is made from this host's busybox; "
            "give an --image for linux/%s\n", o.arch, oci_arch);
    goto out_early;
  }
  if (example_setup_rootfs_ex(&st, o.store, o.image, name, o.quiet, oci_arch,
                              o.rootfs_size) != 0)
    goto out_early;
  /* --rm: the disk is deleted when the container ends; the VM need not
   * write it back or unmount it at the end, nor wait for the host's disk. */
  if (o.rm && vmctr_mount_set_ephemeral(st.rootfs, 1) < 0) {
    rc = fail("rootfs mount");
    goto out;
  }
  if ((rc = make_config(&o, st.image, &cfg))) {
    rc = EXIT_ERROR;
    goto out;
  }
  if (vmctr_container_new(&c, name, st.rootfs, boot, cfg) < 0) {
    rc = fail("create");
    goto out;
  }
  rc = run(c, &o);
  vmctr_container_stop(c, 2000);
out:
  vmctr_container_free(c);
  example_setup_free(&st, o.rm || rc == EXIT_ERROR);
out_early:
  vmctr_container_config_free(cfg);
  vmctr_bootcfg_free(boot);
  free_opts(&o);
  return rc;
}
