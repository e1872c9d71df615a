/* chiprt callable image format, version 1.2.
 *
 * Self-contained C header: a third party can write or read an image with nothing else.
 *
 * Layout (all integers little-endian):
 *   [0, header_size)          chiprt_image_header_t, then child_count chiprt_image_child_t,
 *                             zero-padded to a multiple of CHIPRT_IMAGE_ALIGN.
 *   [orch_offset, +orch_size) the orchestration shared object; orch_offset == header_size
 *                             (storage starts with the orchestration).
 *   children                  each kernel shared object at a CHIPRT_IMAGE_ALIGN-aligned offset
 *                             after the orchestration, in any order, never overlapping it or
 *                             each other; every byte between regions is zero.
 *   signature                 optional (1.1): chiprt_image_signature_entry_t entries filling
 *                             [signature_offset, +signature_size), the offset
 *                             CHIPRT_IMAGE_ALIGN-aligned, never overlapping the header, the
 *                             orchestration or a kernel; writers put it after the last kernel.
 *                             Both fields are 0 when absent.
 *   kernel names              optional (1.2): the last kernel_names_size bytes of the image,
 *                             [total_size - kernel_names_size, total_size), the start
 *                             CHIPRT_IMAGE_ALIGN-aligned: one char[CHIPRT_IMAGE_KERNEL_NAME_BYTES]
 *                             entry per child, entry i naming child i of the child table, so
 *                             kernel_names_size == child_count * CHIPRT_IMAGE_KERNEL_NAME_BYTES.
 *                             It never overlaps another region; 0 when absent.
 *   total_size                the image's length in bytes.
 *
 * content_hash is XXH3-128 (seed 0) of bytes [CHIPRT_IMAGE_HASHED_FROM, total_size), stored
 * as the canonical big-endian XXH128 form (XXH128_canonicalFromHash). Every byte after the
 * hash field is covered; magic and version are checked exactly.
 *
 * resolved_device_addr is 0 in an image as written; a runtime fills it in its own device copy
 * with the device address of that child's kernel bytes. A reader rejects unknown major
 * versions and accepts newer minor versions of the same major.
 *
 * Version history:
 *   1.0  signature_offset and signature_size were reserved and required to be zero, so a 1.0
 *        image reads unchanged as a 1.1 image without a signature, and a 1.0 reader rejects a
 *        signed image (non-zero reserved field) instead of misreading it.
 *   1.1  the optional signature section: the callable's tensor inputs, scalars and outputs
 *        (kind, dtype, rank, optional flag, name), which a runtime checks a run's arguments
 *        against before the orchestration starts. Entries are in any order; names are
 *        non-empty, NUL-terminated, NUL-padded and unique across all entries. A tensor entry
 *        has a known chiprt_dtype_t and rank 0..CHIPRT_MAX_DIMS (the number of dims the caller
 *        gives; 0 is a 0-d tensor), or rank 0 with CHIPRT_SIGNATURE_ANY_RANK; a scalar entry
 *        has dtype 0 and rank 0 (scalars travel as doubles); only inputs and scalars may be
 *        CHIPRT_SIGNATURE_OPTIONAL. An image without arguments records no signature.
 *   1.2  the optional kernel-name table, sized by kernel_names_size (the 1.0/1.1 reserved0
 *        field, required to be zero there: a 1.1 image reads unchanged as a 1.2 image without
 *        names, and a 1.1 reader rejects a named image instead of misreading it). Each entry is
 *        1..CHIPRT_IMAGE_KERNEL_NAME_BYTES - 1 bytes of [A-Za-z0-9_.+-], NUL-terminated and
 *        NUL-padded; names need not be unique (one kernel may serve two func_ids). Tools show a
 *        kernel of an image without the table as "func N" (N its func_id), a text no table entry
 *        can hold.
 */
#ifndef CHIPRT_ABI_IMAGE_FORMAT_H_
#define CHIPRT_ABI_IMAGE_FORMAT_H_

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CHIPRT_IMAGE_MAGIC 0x474D4943u /* "CIMG" as bytes 'C','I','M','G' */
#define CHIPRT_IMAGE_VERSION_MAJOR 1u
#define CHIPRT_IMAGE_VERSION_MINOR 2u
#define CHIPRT_IMAGE_ALIGN 64u
#define CHIPRT_IMAGE_HASHED_FROM 24u /* offset just past content_hash */
#define CHIPRT_IMAGE_NAME_BYTES 48u
#define CHIPRT_IMAGE_MAX_CHILDREN 65536u
#define CHIPRT_IMAGE_SIGNATURE_NAME_BYTES 48u
#define CHIPRT_IMAGE_MAX_SIGNATURE_ENTRIES 256u
#define CHIPRT_IMAGE_KERNEL_NAME_BYTES 48u
/* Set only in a runtime's device copy whose orchestration bytes were left out (host graph). */
#define CHIPRT_IMAGE_FLAG_ORCH_ELIDED 1u

typedef enum chiprt_core_type {
  CHIPRT_CORE_AIC = 0, /* cube core: matrix work */
  CHIPRT_CORE_AIV = 1, /* vector core: elementwise work */
} chiprt_core_type_t;

/* Kinds of signature entries (0 is invalid, so a zeroed entry is rejected). */
typedef enum chiprt_signature_kind {
  CHIPRT_SIGNATURE_INPUT = 1,  /* a tensor argument (host tensor or device input) */
  CHIPRT_SIGNATURE_SCALAR = 2, /* a scalar argument */
  CHIPRT_SIGNATURE_OUTPUT = 3, /* a tensor the orchestration allocates with alloc_output */
} chiprt_signature_kind_t;

/* Signature entry flags; every other bit is 0. */
#define CHIPRT_SIGNATURE_OPTIONAL 1u /* the caller may leave the argument out */
#define CHIPRT_SIGNATURE_ANY_RANK 2u /* a tensor of any rank (rank field 0) */

typedef struct chiprt_image_signature_entry {
  uint32_t kind;  /* chiprt_signature_kind_t */
  uint32_t dtype; /* chiprt_dtype_t (include/chiprt/abi/tensor.h); 0 for scalars */
  uint32_t rank;  /* 0..CHIPRT_MAX_DIMS; 0 for scalars */
  uint32_t flags; /* CHIPRT_SIGNATURE_* */
  char name[CHIPRT_IMAGE_SIGNATURE_NAME_BYTES]; /* NUL-terminated, NUL-padded */
} chiprt_image_signature_entry_t;

typedef struct chiprt_image_child {
  uint32_t func_id;              /* unique within the image */
  uint32_t core_type;            /* chiprt_core_type_t */
  uint64_t offset;               /* of the kernel .so, from the image start */
  uint64_t size;                 /* of the kernel .so in bytes, > 0 */
  uint64_t resolved_device_addr; /* 0 as written; filled in the device copy */
} chiprt_image_child_t;

typedef struct chiprt_image_header {
  uint32_t magic;
  uint16_t version_major;
  uint16_t version_minor;
  uint8_t content_hash[16];
  uint64_t total_size;
  uint32_t header_size; /* align_up(sizeof header + child_count * sizeof child, ALIGN) */
  uint32_t child_count;
  uint64_t orch_offset;       /* == header_size */
  uint64_t orch_size;         /* > 0 */
  uint32_t flags;             /* 0 in an image as written */
  uint32_t kernel_names_size; /* 1.2; bytes of the kernel-name table at the image's end, 0 when
                                absent (reserved0, required 0, in 1.0 and 1.1) */
  char name[CHIPRT_IMAGE_NAME_BYTES]; /* NUL-padded label; part of the identity */
  uint64_t signature_offset;          /* 1.1; 0 when absent (reserved, 0, in 1.0) */
  uint64_t signature_size;            /* 1.1; bytes, a multiple of the entry size; 0 when absent */
} chiprt_image_header_t;

#ifdef __cplusplus
}
static_assert(sizeof(chiprt_image_header_t) == 128, "image header is 128 bytes");
static_assert(sizeof(chiprt_image_child_t) == 32, "image child is 32 bytes");
static_assert(sizeof(chiprt_image_signature_entry_t) == 64, "signature entry is 64 bytes");
#else
_Static_assert(sizeof(chiprt_image_header_t) == 128, "image header is 128 bytes");
_Static_assert(sizeof(chiprt_image_child_t) == 32, "image child is 32 bytes");
_Static_assert(sizeof(chiprt_image_signature_entry_t) == 64, "signature entry is 64 bytes");
#endif

#endif /* CHIPRT_ABI_IMAGE_FORMAT_H_ */
