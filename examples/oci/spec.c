/* SPDX-License-Identifier: MIT */
/* vmctr-oci: spec (being written). */
