/* SPDX-License-Identifier: MIT */
/* The boot-config builder's representation, shared by its three files:
 * bootcfg.c (setters, getters, generic keys), bootcfg-json.c (JSON text,
 * files, and the rules for free keys) and bootcfg-validate.c (checks
 * against a host). */
#ifndef VMCTR_BOOTCFG_PRIV_H
#define VMCTR_BOOTCFG_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmctr/bootcfg.h"

/* Longest free key, in bytes. */
#define VMCTR__BOOTCFG_KEY_MAX 256

/* A key the library does not interpret. Values set through the API are
 * strings; values loaded from JSON that are not strings are kept as compact
 * JSON text (is_json) so that a load/save round trip writes them back as the
 * same JSON value rather than as a string. */
struct vmctr__bootcfg_extra {
  char *key;
  char *value;
  bool is_json;
};

struct vmctr_bootcfg {
  char *kernel; /* NULL: unset */
  char *initfs; /* NULL: unset */
  char **args;  /* nargs strings; NULL when nargs is 0 */
  size_t nargs;
  uint32_t cpus;
  uint64_t memory;
  bool nested_virt;
  bool rosetta;
  char *modules;           /* NULL: unset */
  int32_t firmware_tables; /* a VMCTR_BOOTCFG_FIRMWARE_TABLES_* mode */
  const char *arch;        /* static "x86_64" or "aarch64"; NULL: the host's */
  struct vmctr__bootcfg_extra *extras; /* insertion order */
  size_t nextras;
};

/* Fill a builder with the defaults of vmctr_bootcfg_new(); no allocation. */
void vmctr__bootcfg_init(vmctr_bootcfg *cfg);
/* Free what a builder owns, leaving it zeroed (not the struct itself). */
void vmctr__bootcfg_clear(vmctr_bootcfg *cfg);

/* 0 if key is acceptable as a free key (1..256 bytes of UTF-8, not
 * "version"); otherwise `code` with a message that `what` prefixes (the
 * JSON loader reports VMCTR_EPARSE where a setter reports VMCTR_EINVAL). */
int vmctr__bootcfg_check_key(const char *key, size_t len, int code, const char *what);

/* 0 if arg is one kernel argument that the kernel reads back as exactly
 * that argument; otherwise `code` with a message that `what` prefixes. */
int vmctr__bootcfg_check_arg(const char *arg, int code, const char *what);

/* Replace the arguments with a copy of args (n may be 0). Checks each. */
int vmctr__bootcfg_replace_args(vmctr_bootcfg *cfg, const char *const *args, size_t n,
                                const char *what);

/* Add or replace a free key, keeping its place if it exists. Takes a copy. */
int vmctr__bootcfg_put_extra(vmctr_bootcfg *cfg, const char *key, const char *value,
                             bool is_json);

/* Parse a "memory" string ("512M", "2GiB", "1073741824"). 0 or VMCTR_EINVAL. */
int vmctr__bootcfg_parse_memory(const char *s, uint64_t *out);

/* Parse a boolean ("true"/"false", "1"/"0", "yes"/"no", "on"/"off"). */
int vmctr__bootcfg_parse_bool(const char *s, bool *out);

/* Parse a firmware-tables mode: "auto", or a boolean as above. */
int vmctr__bootcfg_parse_firmware_tables(const char *s, int32_t *out);
/* The written form of a mode: "auto", "on" or "off" (get() and JSON). */
const char *vmctr__bootcfg_firmware_tables_name(int32_t mode);

/* The name files and callers used before "firmware_tables" was typed. */
#define VMCTR__BOOTCFG_OLD_FIRMWARE_TABLES_KEY "acpi"

/* Split a command line into arguments: blanks separate them, double quotes
 * group blanks into one argument and are kept (the kernel reads them). */
int vmctr__bootcfg_split_cmdline(const char *s, char ***out, size_t *out_n);

/* The guest architecture: the one set, else the host's ("x86_64", "aarch64"). */
const char *vmctr__bootcfg_guest_arch(const vmctr_bootcfg *cfg);

/* JSON text parse with `what` naming the source in messages. */
int vmctr__bootcfg_parse(vmctr_bootcfg **out, const char *json, size_t len, const char *what);

#endif
