/* SPDX-License-Identifier: MIT */
/**
 * @file vmctr/container.h
 * @brief Linux containers, each in its own VM: processes, container configs, containers.
 *
 * A vmctr_container is one Linux container running in its own lightweight
 * VM, like apple/containerization's LinuxContainer. It is made from an id, a
 * rootfs mount (vmctr/mount.h), a boot config (vmctr/bootcfg.h) and a
 * container config (this header), and goes through:
 *
 *   vmctr_container_new()   checks capabilities, boots the VM, mounts the
 *                           rootfs and the extra mounts, sets hostname/DNS/hosts
 *   vmctr_container_start() starts the init process
 *   vmctr_container_init_process()  that process (wait, kill, stdin, resize
 *                           through the vmctr_process_* functions)
 *   vmctr_container_exec()  further processes (vmctr_process)
 *   vmctr_container_stop()  SIGTERM, a grace period, SIGKILL, power off
 *   vmctr_container_free()  stops if needed; leaves no process or file behind
 *
 * Events: containers and processes follow the VM manager's idiom. Poll
 * vmctr_container_event_fd() (or vmctr_process_event_fd()) for reading;
 * when it is readable, call vmctr_container_dispatch() (or
 * vmctr_process_dispatch()), which returns the new state.
 *
 * Signals: every signal number in this API is a Linux signal number, as the
 * guest kernel numbers them, whatever the host is (on macOS SIGUSR1 is 30,
 * in the guest it is 10). VMCTR_SIG* name the common ones.
 *
 * Stdio: each process's stdin, stdout and stderr go to the caller's file
 * descriptors (pipes, files, a pty), to a callback (output), or to the
 * library's write call (stdin); see vmctr_process_config_set_stdio().
 *
 * Threads: a container owns one I/O thread that moves stdio bytes and
 * receives the guest's replies, and one watcher thread per process. Output
 * callbacks run on the I/O thread. The vmctr_container_* and vmctr_process_*
 * functions (other than _free) may be called from any thread, concurrently;
 * an object must not be freed while another thread still uses it. The
 * configuration builders (vmctr_process_config_*, vmctr_container_config_*)
 * are not thread-safe: build one on one thread at a time; once built, a
 * configuration may be read by several vmctr_container_new() or
 * vmctr_container_exec() calls at once.
 */
#ifndef VMCTR_CONTAINER_H
#define VMCTR_CONTAINER_H

#include <stddef.h>
#include <stdint.h>

#include "vmctr/common.h"
#include "vmctr/bootcfg.h"
#include "vmctr/image.h"
#include "vmctr/mount.h"
#include "vmctr/network.h"

VMCTR_BEGIN_DECLS

/** A process configuration: what to run and how. An opaque builder. */
typedef struct vmctr_process_config vmctr_process_config;
/** A container configuration: the init process plus container-wide settings. */
typedef struct vmctr_container_config vmctr_container_config;
/** A container running in its own VM. */
typedef struct vmctr_container vmctr_container;
/** A process started in a running container by vmctr_container_exec(). */
typedef struct vmctr_process vmctr_process;

/** @name Special stdio values for vmctr_process_config_set_stdio() */
/**@{*/
#define VMCTR_STDIO_NULL (-1)     /**< /dev/null in the guest */
#define VMCTR_STDIO_CALLBACK (-2) /**< stdout/stderr: to the output callback */
#define VMCTR_STDIO_WRITE (-3)    /**< stdin: fed by vmctr_*_write_stdin() */
/**@}*/

/** @name Linux signal numbers (as the guest numbers them) */
/**@{*/
#define VMCTR_SIGHUP 1
#define VMCTR_SIGINT 2
#define VMCTR_SIGQUIT 3
#define VMCTR_SIGKILL 9
#define VMCTR_SIGUSR1 10
#define VMCTR_SIGUSR2 12
#define VMCTR_SIGPIPE 13
#define VMCTR_SIGALRM 14
#define VMCTR_SIGTERM 15
#define VMCTR_SIGCHLD 17
#define VMCTR_SIGCONT 18
#define VMCTR_SIGSTOP 19
#define VMCTR_SIGTSTP 20
#define VMCTR_SIGWINCH 28
/**@}*/

/** @name Output streams named to a vmctr_output_fn */
/**@{*/
#define VMCTR_STREAM_STDOUT 1u
#define VMCTR_STREAM_STDERR 2u
/**@}*/

/**
 * Output callback: `len` bytes of a process's stdout or stderr; `len` 0 means
 * that stream reached end of file. Runs on the container's I/O thread; the
 * data is borrowed for the call. It must not block for long (the guest waits
 * on it) and must not free the container.
 */
typedef void (*vmctr_output_fn)(uint32_t stream, const void *data, size_t len, void *userdata);

/** @name Process configuration */
/**@{*/

/** Create an empty process configuration. @return 0, VMCTR_EINVAL or VMCTR_ENOMEM. */
VMCTR_API int vmctr_process_config_new(vmctr_process_config **out);

/** Deep copy (the output callback's userdata is shared, not copied). @return 0, VMCTR_EINVAL or VMCTR_ENOMEM. */
VMCTR_API int vmctr_process_config_clone(vmctr_process_config **out, const vmctr_process_config *p);

/** Free a process configuration (runs the callback's destroy notifier when the last copy goes). NULL is ignored. */
VMCTR_API void vmctr_process_config_free(vmctr_process_config *p);

/**
 * Set the arguments. Like `docker run IMAGE ARGS...`: they replace the
 * image's Cmd and follow its Entrypoint. n = 0 with args NULL unsets them.
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_process_config_set_args(vmctr_process_config *p, const char *const *args, size_t n);

/**
 * Set the entrypoint. Like `docker run --entrypoint`: it replaces the image's
 * Entrypoint and discards the image's Cmd. An empty entrypoint (n = 0, args
 * non-NULL) means none. NULL with n = 0 unsets it (the image's applies).
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_process_config_set_entrypoint(vmctr_process_config *p, const char *const *args, size_t n);

/**
 * Set one environment variable. Explicit variables override the image's of
 * the same name; the others are kept. value NULL removes the variable, from
 * the image's too. The name must not be empty or contain '='.
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_process_config_set_env(vmctr_process_config *p, const char *name, const char *value);

/** Set the working directory (absolute). NULL unsets (the image's, else "/"). @return 0, VMCTR_EINVAL or VMCTR_ENOMEM. */
VMCTR_API int vmctr_process_config_set_cwd(vmctr_process_config *p, const char *cwd);

/**
 * Set the user: "uid", "uid:gid", "name" or "name:group". Names are resolved
 * in the container's /etc/passwd and /etc/group when the container is
 * created. NULL unsets (the image's User, else root).
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_process_config_set_user(vmctr_process_config *p, const char *user);

/** Set the supplementary group ids (replacing those of the user's groups). @return 0, VMCTR_EINVAL or VMCTR_ENOMEM. */
VMCTR_API int vmctr_process_config_set_groups(vmctr_process_config *p, const uint32_t *gids, size_t n);

/**
 * Set a resource limit. resource is a Linux RLIMIT_* number (RLIMIT_NOFILE is
 * 7); soft must not exceed hard. UINT64_MAX means unlimited.
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_process_config_set_rlimit(vmctr_process_config *p, uint32_t resource, uint64_t soft, uint64_t hard);

/** Set no_new_privileges (prctl PR_SET_NO_NEW_PRIVS). @return 0 or VMCTR_EINVAL. */
VMCTR_API int vmctr_process_config_set_no_new_privileges(vmctr_process_config *p, int32_t enabled);

/* Confinement (doc/security-guest.md). A process starts with the OCI default
 * capabilities less CAP_MKNOD, and the default seccomp profile. */

/** Add a capability to the process's set (bounding = permitted = effective):
 * "CAP_NET_ADMIN" or "NET_ADMIN", any case, or "ALL". Adds and drops apply
 * in call order ("drop ALL" then "add NET_BIND_SERVICE" leaves just that).
 * @return 0, or VMCTR_EINVAL (NULL, an unknown name). */
VMCTR_API int vmctr_process_config_add_capability(vmctr_process_config *p, const char *name);
/** Drop a capability (names as for _add_capability). @return 0 or VMCTR_EINVAL. */
VMCTR_API int vmctr_process_config_drop_capability(vmctr_process_config *p, const char *name);

#define VMCTR_SECCOMP_UNCONFINED 0u /**< no seccomp filter */
#define VMCTR_SECCOMP_DEFAULT 1u    /**< the Docker-like default profile (the default) */
/** Choose the seccomp profile, VMCTR_SECCOMP_*. @return 0 or VMCTR_EINVAL. */
VMCTR_API int vmctr_process_config_set_seccomp(vmctr_process_config *p, uint32_t profile);

/**
 * Install the caller's own seccomp program in the guest for this process
 * (the init process, or one started by vmctr_container_exec), instead of
 * the VMCTR_SECCOMP_* profile, whichever was chosen.
 *
 * program is a classic BPF program as Linux defines it (an array of
 * struct sock_filter from <linux/filter.h>, in the host's byte order),
 * compiled for the guest's architecture (the kernel checks nothing of it
 * but its form: a program for another architecture applies its own
 * bad-architecture action, usually killing the process); len is its size
 * in bytes: a nonzero multiple of 8, at most 4096 instructions. It is
 * copied. NULL and 0 clear it (back to the profile).
 *
 * It is installed as runc does: with no_new_privileges
 * (vmctr_process_config_set_no_new_privileges) last, right before execve,
 * so the program must allow execve; without it, while the process still
 * holds every capability, before its capabilities and ids are set, so it
 * must also allow capset, setgroups, setresuid/setresgid (or
 * setuid/setgid) and prctl. A program the guest kernel refuses fails the
 * start (VMCTR_EINVAL from the guest). The filter wins over privileged
 * (vmctr_process_config_set_privileged): a privileged process with a filter
 * gets every capability and this filter.
 *
 * @return 0, or VMCTR_EINVAL (p NULL, program NULL with a length or a length
 * without a program, len not a multiple of 8 or above 32768 bytes),
 * VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_process_config_set_seccomp_filter(vmctr_process_config *p, const void *program,
                                                      size_t len);

/** Privileged (docker run --privileged): every capability and no seccomp
 * filter; on the init process (vmctr_container_config_set_process), the
 * container also gets no masked or read-only /proc and /sys paths and a
 * writable cgroup2, and its exec'd processes are privileged too.
 * @return 0 or VMCTR_EINVAL. */
VMCTR_API int vmctr_process_config_set_privileged(vmctr_process_config *p, int32_t enabled);

/**
 * Give the process a terminal (a pty in the guest): stdin, stdout and
 * stderr all go through it, and output arrives as stdout only.
 * rows/cols 0 mean 24x80. @return 0 or VMCTR_EINVAL.
 */
VMCTR_API int vmctr_process_config_set_terminal(vmctr_process_config *p, int32_t enabled, uint32_t rows, uint32_t cols);

/**
 * Choose where stdio goes. Each is a file descriptor of the caller's, or one
 * of VMCTR_STDIO_NULL, VMCTR_STDIO_CALLBACK (stdout/stderr) and
 * VMCTR_STDIO_WRITE (stdin). A descriptor must stay open until
 * vmctr_container_start() or vmctr_container_exec() returns: it is duplicated
 * then, and the caller may close its own copy afterwards. The default is all
 * VMCTR_STDIO_NULL.
 * @return 0 or VMCTR_EINVAL.
 */
VMCTR_API int vmctr_process_config_set_stdio(vmctr_process_config *p, int32_t stdin_fd, int32_t stdout_fd, int32_t stderr_fd);

/**
 * Set the output callback used by streams set to VMCTR_STDIO_CALLBACK.
 * destroy (may be NULL) gets userdata when the callback is replaced or the
 * last configuration and process that use it are freed.
 * @return 0 or VMCTR_EINVAL.
 */
VMCTR_API int vmctr_process_config_set_output_callback(vmctr_process_config *p, vmctr_output_fn fn, void *userdata, vmctr_destroy_fn destroy);

/**@}*/

/** @name Container configuration */
/**@{*/

/** Create an empty container configuration. @return 0, VMCTR_EINVAL or VMCTR_ENOMEM. */
VMCTR_API int vmctr_container_config_new(vmctr_container_config **out);

/** Free a container configuration. NULL is ignored. */
VMCTR_API void vmctr_container_config_free(vmctr_container_config *cfg);

/** Set the init process (copied). @return 0, VMCTR_EINVAL or VMCTR_ENOMEM. */
VMCTR_API int vmctr_container_config_set_process(vmctr_container_config *cfg, const vmctr_process_config *p);

/**
 * Take the defaults from an image's config (Entrypoint, Cmd, Env,
 * WorkingDir, User; copied) and resolve user names in its rootfs.
 * NULL clears them. @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_container_config_set_image(vmctr_container_config *cfg, const vmctr_image *image);

/** Set the hostname (1..64 characters, letters, digits, '-' and '.'). NULL unsets (the id). @return 0, VMCTR_EINVAL or VMCTR_ENOMEM. */
VMCTR_API int vmctr_container_config_set_hostname(vmctr_container_config *cfg, const char *hostname);

/** Set a sysctl applied in the guest, e.g. "net.ipv4.ip_forward" = "1". value NULL removes it. @return 0, VMCTR_EINVAL or VMCTR_ENOMEM. */
VMCTR_API int vmctr_container_config_set_sysctl(vmctr_container_config *cfg, const char *key, const char *value);

/** Add a mount (copied); it must have a destination. Validated here with vmctr_mount_validate(), and not again: a source removed afterwards makes vmctr_container_new() fail when the VM cannot open it. @return 0, VMCTR_EINVAL, VMCTR_ENOENT or VMCTR_ENOMEM. */
VMCTR_API int vmctr_container_config_add_mount(vmctr_container_config *cfg, const vmctr_mount *mount);

/** Add a DNS server (an IPv4 or IPv6 address) to the container's /etc/resolv.conf. @return 0, VMCTR_EINVAL or VMCTR_ENOMEM. */
VMCTR_API int vmctr_container_config_add_dns_server(vmctr_container_config *cfg, const char *address);

/** Add a DNS search domain. @return 0, VMCTR_EINVAL or VMCTR_ENOMEM. */
VMCTR_API int vmctr_container_config_add_dns_search(vmctr_container_config *cfg, const char *domain);

/** Add an /etc/hosts entry. @return 0, VMCTR_EINVAL or VMCTR_ENOMEM. */
VMCTR_API int vmctr_container_config_add_host(vmctr_container_config *cfg, const char *hostname, const char *address);

/**
 * Attach the container to a network (copied): one guest interface, with
 * its own MAC and address (doc/network.md). With no network a container
 * has loopback only. The first network carries the default route, the DNS
 * servers (unless vmctr_container_config_add_dns_server() set some) and
 * the published ports. Isolated NAT networks can be made on the fly with
 * vmctr_network_new(); shared, host-only and bridged ones must come from a
 * state directory (vmctr_network_open()), where their addresses are leased.
 * Attaching happens in vmctr_container_new(); the address is released when
 * the container stops.
 * @param ip   the IPv4 address to request, or NULL for the next free one.
 * @param mac  the MAC to use ("02:00:00:00:00:01"), or NULL for a random
 *             locally administered one, kept for the container's life.
 * @return 0, VMCTR_EINVAL, VMCTR_EEXIST (this network is attached already),
 *         VMCTR_ETOOBIG (more than 8) or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_container_config_add_network(vmctr_container_config *cfg, const vmctr_network *net, const char *ip, const char *mac);

/**
 * Publish a port of the first network on the host, as `docker run -p`
 * does: "[HOST_IP:]HOST_PORT:GUEST_PORT[/tcp|/udp]" (HOST_IP: every host
 * address when absent). Connections to it reach the guest's GUEST_PORT.
 * @return 0, VMCTR_EINVAL (malformed), VMCTR_EEXIST (that host port is
 *         published already), VMCTR_ETOOBIG or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_container_config_publish_port(vmctr_container_config *cfg, const char *spec);

/**
 * Run the container's VM in the network namespace at path
 * ("/var/run/netns/NAME", "/proc/PID/ns/net"), as a pod's containers run
 * in the namespace CNI prepared: the hypervisor and its helper processes
 * (QEMU, passt, virtiofsd) join it when they start, so that every socket
 * of theirs (a NAT network's, say) is the namespace's, and the tap NICs
 * (vmctr_container_config_add_tap()) are found there. The path is opened
 * in vmctr_container_new(), which fails with VMCTR_ENOENT when nothing is
 * there and VMCTR_EINVAL when it is not a network namespace; the calling
 * thread's own namespace never changes. Needs CAP_SYS_ADMIN (root). Linux
 * only (VMCTR_EUNSUPPORTED elsewhere, at vmctr_container_new()).
 * @param path  an absolute path, or NULL for the caller's namespace (the
 *              default).
 * @return 0, VMCTR_EINVAL (a relative path) or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_container_config_set_network_namespace(vmctr_container_config *cfg, const char *path);

/**
 * Add a NIC backed by the existing tap device ifname in the container's
 * network namespace (vmctr_container_config_set_network_namespace(), else
 * the caller's): what the guest sends leaves through the tap, and the
 * library neither creates nor removes the device, nor routes or filters
 * for it (doc/network.md, "Tap NICs"). vmctr_container_new() attaches to
 * it (IFF_TAP | IFF_NO_PI, one queue; a tap that is down is set up) and
 * fails with VMCTR_ENOENT when there is no such interface, VMCTR_EINVAL
 * when it is no tap, VMCTR_EBUSY when another process holds it. The
 * guest's interface gets mac, address, the MTU and the routes added with
 * vmctr_container_config_add_tap_route(). Tap NICs come after the networks
 * (vmctr_container_config_add_network()), in the order added; the first
 * interface of the container carries the default route, so only a tap that
 * is first (no network attached, added first) may have a gateway
 * (vmctr_container_new() fails with VMCTR_EINVAL otherwise). Tap NICs
 * publish no ports. Linux only.
 * @param ifname   the tap's name, 1..15 characters.
 * @param mac      the guest NIC's unicast MAC ("02:00:00:00:00:01"), or
 *                 NULL for a random locally administered one.
 * @param address  the guest's IPv4 address with its prefix ("10.1.2.3/24";
 *                 host bits are expected), or NULL: the link is set up
 *                 without an address.
 * @param gateway  an IPv4 address: the guest's default route goes through
 *                 it; NULL for none. Needs an address.
 * @param mtu      68..65535, or 0 for the tap's own MTU.
 * @return 0, VMCTR_EINVAL, VMCTR_EEXIST (this tap or this MAC is a NIC
 *         already), VMCTR_ETOOBIG (more than 8 networks and taps) or
 *         VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_container_config_add_tap(vmctr_container_config *cfg, const char *ifname, const char *mac, const char *address, const char *gateway, uint32_t mtu);

/**
 * Add a route of the guest through tap NIC ifname (added before with
 * vmctr_container_config_add_tap()): to dst ("10.2.0.0/16", host bits
 * zero; "0.0.0.0/0" is a default route, which the tap's gateway makes
 * already) via the gateway via, or on-link when via is NULL. The route
 * to the address's own subnet exists without one. Routes are added in
 * order, before the default route, so a gateway outside the subnet works
 * when an on-link route to it comes first.
 * @return 0, VMCTR_EINVAL, VMCTR_ENOENT (no such tap NIC), VMCTR_EEXIST
 *         (a route to dst exists), VMCTR_ETOOBIG (more than 64) or
 *         VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_container_config_add_tap_route(vmctr_container_config *cfg, const char *ifname, const char *dst, const char *via);

/** Write the VM's console (kernel and vmctr-init messages) to this file. NULL: a file in the runtime directory, removed with the container. @return 0, VMCTR_EINVAL or VMCTR_ENOMEM. */
VMCTR_API int vmctr_container_config_set_boot_log(vmctr_container_config *cfg, const char *path);

/**
 * Whether the container's VM may start from a template (VMCTR_VMM_TEMPLATE_*,
 * see vmctr_vmm_set_template()): DEFAULT (the library's default), OFF or ON.
 * @return 0 or VMCTR_EINVAL.
 */
VMCTR_API int vmctr_container_config_set_template(vmctr_container_config *cfg, uint32_t mode);

/**
 * Limit the container's cgroup: memory in bytes (0 = no limit beyond the
 * VM's) and CPU in thousandths of a CPU (0 = no limit).
 * @return 0 or VMCTR_EINVAL.
 */
VMCTR_API int vmctr_container_config_set_limits(vmctr_container_config *cfg, uint64_t memory_bytes, uint32_t millicpus);

/**
 * Limit the number of tasks (processes and threads) in the container's
 * cgroup: its pids.max in the guest, as the limits of _set_limits are
 * applied. A fork beyond it fails with EAGAIN inside the container; the
 * container goes on. max 0 or negative: no limit (the default).
 * @return 0 or VMCTR_EINVAL (cfg NULL).
 */
VMCTR_API int vmctr_container_config_set_pids_limit(vmctr_container_config *cfg, int64_t max);
/** The most paths one masked or read-only list may hold. */
#define VMCTR_CONTAINER_PATHS_MAX 256
/** The longest path of such a list, in bytes. */
#define VMCTR_CONTAINER_PATH_MAX 4095

/**
 * Replace the library's default masked paths of the container (the OCI
 * runtime spec's linux.maskedPaths). In the container a masked file reads
 * as empty (/dev/null is bound over it) and a masked directory is an empty
 * read-only tmpfs; a path the container lacks is skipped. Paths are
 * absolute and normalized (no "." or ".." component, no repeated or
 * trailing '/'), resolved inside the container's root (a link of the
 * image cannot point them outside), at most VMCTR_CONTAINER_PATHS_MAX of
 * them, each at most VMCTR_CONTAINER_PATH_MAX bytes. n 0 (paths may then be
 * NULL) masks nothing. Never called: the defaults (doc/container.md), which
 * a privileged init process goes without; once called, the list applies
 * whether or not the process is privileged. Copied.
 * @return 0, VMCTR_EINVAL (a bad path, named in the message),
 *         VMCTR_ETOOBIG (too many) or VMCTR_ENOMEM; on failure cfg is unchanged.
 */
VMCTR_API int vmctr_container_config_set_masked_paths(vmctr_container_config *cfg,
                                                      const char *const *paths, size_t n);

/**
 * Replace the library's default read-only paths of the container (the OCI
 * runtime spec's linux.readonlyPaths): each is bound onto itself and
 * remounted read-only (keeping its nosuid, nodev and noexec), so that
 * writes below it fail with EROFS; a path the container lacks is skipped.
 * Paths, bounds, n 0, the defaults and privileged processes as for
 * vmctr_container_config_set_masked_paths(). Copied.
 * @return 0, VMCTR_EINVAL, VMCTR_ETOOBIG or VMCTR_ENOMEM; on failure cfg is unchanged.
 */
VMCTR_API int vmctr_container_config_set_readonly_paths(vmctr_container_config *cfg,
                                                        const char *const *paths, size_t n);

/**@}*/

/** @name Containers */
/**@{*/

/** Container states, from vmctr_container_state() and vmctr_container_dispatch(). */
#define VMCTR_CONTAINER_CREATED 1 /**< VM up, init process not started */
#define VMCTR_CONTAINER_RUNNING 2 /**< init process running */
#define VMCTR_CONTAINER_EXITED 3  /**< init process exited; VM still up */
#define VMCTR_CONTAINER_STOPPED 4 /**< VM powered off */
#define VMCTR_CONTAINER_FAILED 5  /**< the VM or its agent died unexpectedly */

/**
 * Create a container: check capabilities (nested virtualization requested on
 * a host without it fails here, before anything boots), boot its VM, connect
 * to the guest agent, mount the rootfs and the extra mounts, set hostname,
 * DNS and hosts. On failure nothing is left behind.
 *
 * Capabilities are probed once per process and shared by every container
 * and VM it makes; each mount is validated once, where it enters the
 * library (the rootfs here, the others in vmctr_container_config_add_mount()).
 *
 * @param id      1..64 characters, [a-zA-Z0-9][a-zA-Z0-9_.-]*
 * @param rootfs  a block or share mount made with destination NULL: a root
 *                filesystem has no destination (VMCTR_EINVAL otherwise)
 * @param boot    kernel, initfs, cpus, memory, nested virtualization (copied)
 * @param cfg     the container configuration (copied)
 * @return 0, VMCTR_EINVAL, VMCTR_EUNSUPPORTED, VMCTR_ENOENT, VMCTR_ETIMEDOUT, VMCTR_EIO or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_container_new(vmctr_container **out, const char *id, const vmctr_mount *rootfs,
                                  const vmctr_bootcfg *boot, const vmctr_container_config *cfg);

/** Start the init process. @return 0, VMCTR_ESTATE (not CREATED), VMCTR_ENOENT (no such program) or VMCTR_EIO. */
VMCTR_API int vmctr_container_start(vmctr_container *c);

/**
 * The init process once vmctr_container_start() succeeded, else NULL: wait
 * for it, signal it, write its stdin and resize its terminal with the
 * vmctr_process_* functions. Borrowed from c: valid until
 * vmctr_container_free(); vmctr_process_free() on it does nothing.
 */
VMCTR_API vmctr_process *vmctr_container_init_process(vmctr_container *c);

/**
 * Stop: SIGTERM to the init process, up to grace_ms for it to exit, then
 * SIGKILL, then power the VM off (forcibly if it does not go). Always safe to
 * call, in any state and more than once. @return 0 or VMCTR_EIO (it had to be killed hard; it is gone either way).
 */
VMCTR_API int vmctr_container_stop(vmctr_container *c, uint32_t grace_ms);

/** The container's state, a VMCTR_CONTAINER_* value, or VMCTR_EINVAL for NULL. */
VMCTR_API int32_t vmctr_container_state(const vmctr_container *c);

/** The container's id, borrowed from c. */
VMCTR_API const char *vmctr_container_id(const vmctr_container *c);

/**
 * A file descriptor that becomes readable when the container's state may
 * have changed (for poll/epoll, DispatchSource, asyncio). Owned by the
 * container: never read or close it. Call vmctr_container_dispatch() when it
 * is readable.
 * @return the fd, or VMCTR_EINVAL.
 */
VMCTR_API int vmctr_container_event_fd(const vmctr_container *c);

/**
 * Collect what made the event fd readable; it stops being readable until
 * the next change.
 * @return the current state (VMCTR_CONTAINER_*), or VMCTR_EINVAL.
 */
VMCTR_API int32_t vmctr_container_dispatch(vmctr_container *c);

/**
 * Run a further process in the running container (its namespaces and root),
 * with its own configuration; the image defaults do not apply except Env.
 * @return 0, VMCTR_ESTATE (the init process is not running), VMCTR_ENOENT (no such program), VMCTR_EINVAL or VMCTR_EIO.
 */
VMCTR_API int vmctr_container_exec(vmctr_container *c, const vmctr_process_config *p, vmctr_process **out);

/** The number of networks the container is attached to, tap NICs included (0 if c is NULL). */
VMCTR_API size_t vmctr_container_network_count(const vmctr_container *c);

/**
 * The address of its interface on network i (in config order: the
 * networks, then the tap NICs), as "192.168.64.2/24" ("" for a tap NIC
 * without an address); NULL if i is out of range. Borrowed from c until it is
 * freed; still readable after the container stopped.
 */
VMCTR_API const char *vmctr_container_network_address(const vmctr_container *c, size_t i);

/** The MAC of its interface on network i ("02:xx:xx:xx:xx:xx"), or NULL. Borrowed as above. */
VMCTR_API const char *vmctr_container_network_mac(const vmctr_container *c, size_t i);

/** Stop the container if needed and free it. Leaves no process, runtime directory or copy behind. NULL is ignored. */
VMCTR_API void vmctr_container_free(vmctr_container *c);

/**@}*/

/** @name Processes: the init process and those from exec */
/**@{*/

/** Process states, from vmctr_process_state() and vmctr_process_dispatch(). */
#define VMCTR_PROCESS_RUNNING 1 /**< started, not yet exited */
#define VMCTR_PROCESS_EXITED 2  /**< exited; vmctr_process_wait() gives its status */
#define VMCTR_PROCESS_FAILED 3  /**< its exit status is unknown: the VM or its agent went away */

/**
 * Wait for the process to exit. timeout_ms < 0 waits without limit, 0 only
 * looks. On success exactly one of *exit_code (0..255) and *signal (the
 * terminating Linux signal) is meaningful: the other is -1. Either pointer
 * may be NULL.
 * @return 0, VMCTR_ETIMEDOUT, VMCTR_EINVAL or VMCTR_EIO (the VM died).
 */
VMCTR_API int vmctr_process_wait(vmctr_process *p, int32_t timeout_ms, int32_t *exit_code, int32_t *signal);

/** Send a signal (a Linux number, VMCTR_SIG*) to the process. @return 0, VMCTR_EINVAL, VMCTR_ESTATE (exited) or VMCTR_EIO. */
VMCTR_API int vmctr_process_kill(vmctr_process *p, int32_t signo);

/**
 * Write to the process's stdin (VMCTR_STDIO_WRITE). The bytes are copied;
 * the library holds at most 1 MiB of a process's stdin, and the guest takes
 * more only as the process reads. So this blocks while that buffer is full,
 * until every byte is buffered (not yet read by the process), or the process
 * exits (VMCTR_ESTATE). len above INT32_MAX writes INT32_MAX bytes.
 * @return len, VMCTR_ESTATE (stdin is not VMCTR_STDIO_WRITE, was closed, or
 * the process exited) or VMCTR_EIO (the VM went away).
 */
VMCTR_API int vmctr_process_write_stdin(vmctr_process *p, const void *data, size_t len);

/**
 * vmctr_process_write_stdin() that never blocks: it buffers what fits.
 * @return the bytes taken (> 0, or 0 for len 0), VMCTR_EAGAIN when the buffer
 * is full (try again once the process has read some; its message tells the
 * stream's credit state), VMCTR_ESTATE or VMCTR_EIO.
 */
VMCTR_API int vmctr_process_try_write_stdin(vmctr_process *p, const void *data, size_t len);

/** Close the process's stdin. @return 0, VMCTR_ESTATE or VMCTR_EIO. */
VMCTR_API int vmctr_process_close_stdin(vmctr_process *p);

/** Resize the process's terminal. @return 0, VMCTR_ESTATE (no terminal) or VMCTR_EIO. */
VMCTR_API int vmctr_process_resize(vmctr_process *p, uint32_t rows, uint32_t cols);

/** The process's state, a VMCTR_PROCESS_* value, or VMCTR_EINVAL for NULL. */
VMCTR_API int32_t vmctr_process_state(const vmctr_process *p);

/**
 * A file descriptor that becomes readable once the process has exited (or
 * its status became unknown). Owned by p: never read or close it.
 * @return the fd, or VMCTR_EINVAL.
 */
VMCTR_API int vmctr_process_event_fd(const vmctr_process *p);

/** Collect the event fd's news. @return the state (VMCTR_PROCESS_*), or VMCTR_EINVAL. */
VMCTR_API int32_t vmctr_process_dispatch(vmctr_process *p);

/** The process's id in the VM (as the guest agent sees it, not the id inside the container's pid namespace); 0 for NULL. */
VMCTR_API uint32_t vmctr_process_pid(const vmctr_process *p);

/** Free the process handle; a process still running is killed (SIGKILL). NULL and the init process (owned by its container) are ignored. Free processes before their container. */
VMCTR_API void vmctr_process_free(vmctr_process *p);

/**@}*/

VMCTR_END_DECLS

#endif /* VMCTR_CONTAINER_H */
