/* SPDX-License-Identifier: MIT */
/**
 * @file vmctr/bootcfg.h
 * @brief Boot configurations: what a VM boots and with what resources.
 *
 * A vmctr_bootcfg is an opaque builder: kernel, initial filesystem (initfs),
 * kernel command-line arguments, vCPUs, memory, nested virtualization,
 * Rosetta, kernel modules for a stock kernel and firmware tables, plus free
 * keys. It is saved to and loaded from JSON:
 *
 * @code{.json}
 * { "version": 1, "kernel": "/var/lib/vmctr/vmlinux", "initfs": "/var/lib/vmctr/initfs.cpio.gz",
 *   "cmdline": ["console=hvc0", "quiet"], "cpus": 2, "memory": 1073741824,
 *   "nested_virtualization": false, "rosetta": false, "firmware_tables": "auto",
 *   "architecture": "aarch64", "com.example.note": "hi" }
 * @endcode
 *
 * Free keys (every key that is not a typed setting) are kept but not
 * interpreted: no part of libvmctr reads them, so they never change how a VM
 * boots. In particular a boot config cannot add hypervisor arguments; a
 * "qemu.args" key is a free key like any other. Free keys survive a
 * load/save round trip with their JSON values intact.
 * A builder is not thread-safe: use one from one thread at a time.
 */
#ifndef VMCTR_BOOTCFG_H
#define VMCTR_BOOTCFG_H

#include "vmctr/common.h"
#include "vmctr/caps.h"

VMCTR_BEGIN_DECLS

/** An opaque boot-config builder. */
typedef struct vmctr_bootcfg vmctr_bootcfg;

/** vCPUs of a new builder. */
#define VMCTR_BOOTCFG_DEFAULT_CPUS 1u
/** Memory of a new builder: 512 MiB. */
#define VMCTR_BOOTCFG_DEFAULT_MEMORY (512ull * 1024 * 1024)
/** The least memory a VM may get: 64 MiB. */
#define VMCTR_BOOTCFG_MIN_MEMORY (64ull * 1024 * 1024)
/** The largest boot-config file or JSON text accepted: 1 MiB. */
#define VMCTR_BOOTCFG_MAX_JSON (1024u * 1024u)
/** The JSON format version this library writes. */
#define VMCTR_BOOTCFG_FORMAT_VERSION 1

/**
 * Create an empty builder with the defaults (no kernel, no initfs, no
 * arguments, VMCTR_BOOTCFG_DEFAULT_CPUS, VMCTR_BOOTCFG_DEFAULT_MEMORY,
 * nested virtualization and Rosetta off, no modules, firmware tables
 * VMCTR_BOOTCFG_FIRMWARE_TABLES_AUTO).
 *
 * @return 0, VMCTR_EINVAL (NULL out) or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_bootcfg_new(vmctr_bootcfg **out);

/**
 * Create a builder holding a deep copy of another.
 *
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_bootcfg_clone(vmctr_bootcfg **out, const vmctr_bootcfg *cfg);

/** Free a builder. NULL is ignored. */
VMCTR_API void vmctr_bootcfg_free(vmctr_bootcfg *cfg);

/**
 * Set the kernel image path (a bzImage, vmlinux or Image). NULL unsets it.
 * The file is checked by vmctr_bootcfg_validate(), not here.
 * @return 0, VMCTR_EINVAL (empty path) or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_bootcfg_set_kernel(vmctr_bootcfg *cfg, const char *path);

/** The kernel path, or NULL if unset. Borrowed from cfg until it changes or is freed. */
VMCTR_API const char *vmctr_bootcfg_kernel(const vmctr_bootcfg *cfg);

/**
 * Set the initial filesystem (a cpio archive, optionally compressed). NULL unsets it.
 * @return 0, VMCTR_EINVAL (empty path) or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_bootcfg_set_initfs(vmctr_bootcfg *cfg, const char *path);

/** The initfs path, or NULL if unset. Borrowed from cfg until it changes or is freed. */
VMCTR_API const char *vmctr_bootcfg_initfs(const vmctr_bootcfg *cfg);

/**
 * Replace the kernel command-line arguments.
 *
 * @param args  n arguments, each one kernel parameter such as "console=hvc0",
 *              written as the kernel reads it (quotes included, as in
 *              init.args="a b"). An argument may not be empty, contain a
 *              newline, or be one the kernel would read differently: a blank
 *              outside double quotes, or an unbalanced double quote.
 * @param n     number of arguments; 0 clears them (args may then be NULL).
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM. On failure cfg is unchanged.
 */
VMCTR_API int vmctr_bootcfg_set_cmdline(vmctr_bootcfg *cfg, const char *const *args, size_t n);

/**
 * Append one kernel command-line argument.
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_bootcfg_add_cmdline_arg(vmctr_bootcfg *cfg, const char *arg);

/** The number of kernel command-line arguments (0 if cfg is NULL). */
VMCTR_API size_t vmctr_bootcfg_cmdline_count(const vmctr_bootcfg *cfg);

/** Argument i, or NULL if out of range. Borrowed from cfg until it changes or is freed. */
VMCTR_API const char *vmctr_bootcfg_cmdline_arg(const vmctr_bootcfg *cfg, size_t i);

/**
 * The whole command line as the kernel sees it: the arguments joined by
 * single spaces.
 *
 * @param out receives the string; free it with vmctr_free().
 * @return 0, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_bootcfg_cmdline_string(const vmctr_bootcfg *cfg, char **out);

/**
 * Set the number of vCPUs. 0 is refused here; the host limit is checked by
 * vmctr_bootcfg_validate().
 * @return 0 or VMCTR_EINVAL.
 */
VMCTR_API int vmctr_bootcfg_set_cpus(vmctr_bootcfg *cfg, uint32_t cpus);

/** The number of vCPUs (0 if cfg is NULL). */
VMCTR_API uint32_t vmctr_bootcfg_cpus(const vmctr_bootcfg *cfg);

/**
 * Set guest memory in bytes. Any value is stored; vmctr_bootcfg_validate()
 * requires a whole number of MiB, at least VMCTR_BOOTCFG_MIN_MEMORY and at most
 * the host's limit.
 * @return 0 or VMCTR_EINVAL.
 */
VMCTR_API int vmctr_bootcfg_set_memory(vmctr_bootcfg *cfg, uint64_t bytes);

/** Guest memory in bytes (0 if cfg is NULL). */
VMCTR_API uint64_t vmctr_bootcfg_memory(const vmctr_bootcfg *cfg);

/**
 * Ask for nested virtualization (the guest may run VMs). Checked against the
 * host by vmctr_bootcfg_validate().
 * @param enabled 0 or 1; other values give VMCTR_EINVAL.
 */
VMCTR_API int vmctr_bootcfg_set_nested_virtualization(vmctr_bootcfg *cfg, int32_t enabled);

/** 1 if nested virtualization is requested, else 0. */
VMCTR_API int32_t vmctr_bootcfg_nested_virtualization(const vmctr_bootcfg *cfg);

/**
 * Ask for Rosetta (x86_64 translation in arm64 guests; macOS on Apple silicon only).
 * @param enabled 0 or 1; other values give VMCTR_EINVAL.
 */
VMCTR_API int vmctr_bootcfg_set_rosetta(vmctr_bootcfg *cfg, int32_t enabled);

/** 1 if Rosetta is requested, else 0. */
VMCTR_API int32_t vmctr_bootcfg_rosetta(const vmctr_bootcfg *cfg);

/**
 * Set the directory of kernel modules for a stock kernel (such as Debian's
 * cloud kernel, which has the virtio drivers as modules). It holds a file
 * named "load-order" that lists module file names, one a line, dependencies
 * first; those modules go into the initfs that libvmctr builds when no
 * initfs is set. NULL unsets it. Checked by vmctr_bootcfg_validate() (must
 * be a directory holding a load-order file), not here.
 * @return 0, VMCTR_EINVAL (empty path) or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_bootcfg_set_modules(vmctr_bootcfg *cfg, const char *dir);

/** The modules directory, or NULL if unset. Borrowed from cfg until it changes or is freed. */
VMCTR_API const char *vmctr_bootcfg_modules(const vmctr_bootcfg *cfg);

/** Firmware tables on exactly when modules are set (the default). */
#define VMCTR_BOOTCFG_FIRMWARE_TABLES_AUTO (-1)
/** Devices are not described in firmware tables. */
#define VMCTR_BOOTCFG_FIRMWARE_TABLES_OFF 0
/** Devices are described in firmware tables. */
#define VMCTR_BOOTCFG_FIRMWARE_TABLES_ON 1

/**
 * Choose whether the VM's devices are described in firmware tables (ACPI on
 * x86_64). Stock kernels, which cannot take virtio-mmio devices from the
 * command line, find their devices only there; the default, AUTO, turns
 * them on exactly when modules are set.
 * @param mode VMCTR_BOOTCFG_FIRMWARE_TABLES_AUTO, _OFF or _ON.
 * @return 0, or VMCTR_EINVAL for another mode or a NULL cfg.
 */
VMCTR_API int vmctr_bootcfg_set_firmware_tables(vmctr_bootcfg *cfg, int32_t mode);

/**
 * The firmware-tables mode as set: VMCTR_BOOTCFG_FIRMWARE_TABLES_AUTO (-1,
 * the default), _OFF (0) or _ON (1). VMCTR_EINVAL (-2) if cfg is NULL.
 */
VMCTR_API int32_t vmctr_bootcfg_firmware_tables(const vmctr_bootcfg *cfg);

/**
 * The effective choice, AUTO resolved: 1 if the VM gets firmware tables,
 * else 0. VMCTR_EINVAL if cfg is NULL.
 */
VMCTR_API int32_t vmctr_bootcfg_firmware_tables_effective(const vmctr_bootcfg *cfg);

/**
 * Choose the guest's architecture. A guest of the host's own architecture
 * may use hardware virtualization; one of another architecture (aarch64 on
 * an x86_64 host, through qemu-system-aarch64 -M virt) is emulated with TCG.
 * The kernel must be one for that architecture (an arm64 `Image` for
 * aarch64), and the initfs libvmctr builds then holds the vmctr-init built
 * for it (doc/initfs.md). Checked against the host by
 * vmctr_bootcfg_validate() (vmctr_caps_guest_architecture_supported()).
 *
 * @param arch "x86_64" or "aarch64" ("amd64" and "arm64" are taken as
 *             their names), or NULL for the host's own (the default).
 * @return 0, or VMCTR_EINVAL (another name, NULL cfg). Since 0.4.
 */
VMCTR_API int vmctr_bootcfg_set_architecture(vmctr_bootcfg *cfg, const char *arch);

/**
 * The guest architecture as set ("x86_64" or "aarch64"), or NULL when unset
 * (the host's own). Static storage. Since 0.4.
 */
VMCTR_API const char *vmctr_bootcfg_architecture(const vmctr_bootcfg *cfg);

/**
 * Set any key from a string, or remove it.
 *
 * Known keys are parsed into their typed settings:
 * - "kernel", "initfs", "modules": a path;
 * - "cmdline": arguments separated by blanks (double quotes group blanks
 *   into one argument and stay in it, as the kernel reads them; an empty
 *   string removes every argument);
 * - "cpus": a decimal count;
 * - "memory": bytes, or a number with a binary suffix K, M, G or T
 *   (optionally followed by "iB" or "B"), e.g. "512M", "2GiB";
 * - "nested_virtualization", "rosetta": "true"/"false", "1"/"0", "yes"/"no", "on"/"off";
 * - "firmware_tables": "auto", or a boolean as above ("acpi" is accepted as
 *   its old name);
 * - "architecture": "x86_64" or "aarch64" (vmctr_bootcfg_set_architecture()).
 *
 * Any other key (1 to 256 bytes of UTF-8, not "version") is a free key: kept
 * as a string, written to JSON as one, and not interpreted.
 *
 * @param value the new value, or NULL to remove the key; removing a known key
 *              restores its default, and removing an absent free key succeeds.
 * @return 0; VMCTR_EINVAL for a bad key or a value the key cannot take (the
 *         message names the key); VMCTR_ENOMEM. On failure cfg is unchanged.
 */
VMCTR_API int vmctr_bootcfg_set(vmctr_bootcfg *cfg, const char *key, const char *value);

/**
 * Get any key as a string: the form vmctr_bootcfg_set() accepts for known
 * keys (memory in bytes, booleans as "true"/"false", firmware_tables as
 * "auto", "on" or "off"), the string itself for
 * string-valued free keys, and compact JSON text for free keys whose value
 * (loaded from a file) is not a string.
 *
 * @param out receives the value; free it with vmctr_free().
 * @return 0; VMCTR_ENOENT if the key is unset (a known key whose value is
 *         unset, such as a missing kernel or modules or an empty command line, or an
 *         absent free key);
 *         VMCTR_EINVAL; VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_bootcfg_get(const vmctr_bootcfg *cfg, const char *key, char **out);

/**
 * List every key that is set (known keys first, in a fixed order, then free
 * keys in insertion order).
 *
 * @param out receives a NULL-terminated array; free it with vmctr_strv_free().
 * @return the number of keys, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_bootcfg_keys(const vmctr_bootcfg *cfg, char ***out);

/**
 * Check the configuration against a host.
 *
 * Reports the first problem with a message that names the key:
 * - no kernel, or a kernel or initfs that is missing (VMCTR_ENOENT) or
 *   unreadable (VMCTR_EPERM) or not a regular file (VMCTR_EINVAL);
 * - modules, if set, that are not a directory (VMCTR_EINVAL) or that are
 *   missing or lack a load-order file (VMCTR_ENOENT), or whose load-order
 *   file is unreadable (VMCTR_EPERM) or not a regular file (VMCTR_EINVAL);
 * - cpus of 0 or above the host's maximum (VMCTR_EINVAL);
 * - memory that is not a whole MiB, below VMCTR_BOOTCFG_MIN_MEMORY or above
 *   the host's maximum (VMCTR_EINVAL);
 * - nested virtualization or Rosetta requested where the host has none
 *   (VMCTR_EUNSUPPORTED, with the same message as
 *   vmctr_caps_require_nested_virtualization()).
 *
 * @param caps a snapshot from vmctr_caps_probe(), or NULL to probe now
 *             (with VMCTR_CAPS_PROBE_QUICK).
 * @return 0 if the host can boot this configuration, or the code above.
 */
VMCTR_API int vmctr_bootcfg_validate(const vmctr_bootcfg *cfg, const vmctr_caps *caps);

/**
 * Serialize to JSON (UTF-8, NUL-terminated, pretty-printed).
 *
 * @param out_json receives the text; free it with vmctr_free().
 * @return 0, VMCTR_EINVAL (also for memory of 2^53 bytes or more, which
 *         the JSON reader refuses as possibly rounded) or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_bootcfg_to_json(const vmctr_bootcfg *cfg, char **out_json);

/**
 * Parse a builder from JSON text.
 *
 * Refuses text over VMCTR_BOOTCFG_MAX_JSON (VMCTR_ETOOBIG); malformed JSON,
 * a top level that is not an object, duplicate keys, and wrong types or
 * out-of-range values for known keys, and both "firmware_tables" and its old
 * name "acpi" (VMCTR_EPARSE, the message names the line and column or the
 * key); a format version newer than
 * VMCTR_BOOTCFG_FORMAT_VERSION (VMCTR_EUNSUPPORTED).
 *
 * @param json the text; need not be NUL-terminated.
 * @param len  its length in bytes.
 * @return 0 and *out set, or a negative code and *out untouched.
 */
VMCTR_API int vmctr_bootcfg_from_json(vmctr_bootcfg **out, const char *json, size_t len);

/**
 * Load a builder from a JSON file, with the checks of vmctr_bootcfg_from_json().
 * Messages name the file.
 *
 * @return 0, VMCTR_ENOENT, VMCTR_EPERM, VMCTR_EIO, VMCTR_ETOOBIG,
 *         VMCTR_EPARSE, VMCTR_EUNSUPPORTED, VMCTR_EINVAL or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_bootcfg_load(vmctr_bootcfg **out, const char *path);

/**
 * Save to a JSON file atomically.
 *
 * Writes a temporary file in the same directory, flushes it to disk, renames
 * it over path and flushes the directory. Readers see the old file or the new
 * one, never a mix. On failure the old file is intact and no temporary file is
 * left behind. A new file gets mode 0644; an existing file keeps its mode.
 *
 * @return 0, VMCTR_EINVAL, VMCTR_ENOENT (no such directory), VMCTR_EPERM,
 *         VMCTR_EIO or VMCTR_ENOMEM.
 */
VMCTR_API int vmctr_bootcfg_save(const vmctr_bootcfg *cfg, const char *path);

VMCTR_END_DECLS

#endif /* VMCTR_BOOTCFG_H */
