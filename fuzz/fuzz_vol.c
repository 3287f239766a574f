/* libFuzzer target for the m3 volume stream reader: any bytes in, no crash, no leak. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "m3/vol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct m3_vol_reader *r;
	struct m3_vol v;
	struct m3_err e;
	FILE *fp;

	if (size == 0 || (fp = fmemopen((void *)(uintptr_t)data, size, "rb")) == NULL)
		return 0;
	if ((r = m3_vol_reader_new(fp, "fuzz")) == NULL) {
		fclose(fp);
		return 0;
	}
	m3_vol_reader_set_limit(r, 1 << 24);
	m3_vol_init(&v);
	/* whole reads and the chunked path, one volume each way in turn */
	for (int i = 0; i < 8; i++) {
		if (i % 2 == 0) {
			if (m3_vol_read(r, &v, &e) != M3_OK)
				break;
		} else {
			unsigned char buf[4096];
			size_t left, es;
			if (m3_vol_read_header(r, &v, &e) != M3_OK)
				break;
			m3_vol_nbytes(&v, &left, &e);
			es = m3_type_size(v.type);
			while (left > 0) {
				size_t n = left < sizeof(buf) ? left : sizeof(buf) / es * es;
				if (m3_vol_read_data(r, buf, n, &e) != M3_OK)
					break;
				left -= n;
			}
		}
	}
	m3_vol_release(&v);
	m3_vol_reader_free(r);
	fclose(fp);
	return 0;
}
