/* SPDX-License-Identifier: MIT */
/* vmctr-oci: state (being written). */
