/* SPDX-License-Identifier: MIT */
/* vmctr-oci: log (being written). */
