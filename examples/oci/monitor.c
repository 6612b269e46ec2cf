/* SPDX-License-Identifier: MIT */
/* vmctr-oci: monitor (being written). */
