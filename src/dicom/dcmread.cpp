// The GDCM reader shim: the only C++ of m3-decode, behind the C API of m3/dcmread.h.
// Every call catches every exception at this border and turns it into an m3 error code.
// GDCM can still abort (assert) or fault on malformed data; m3-decode contains that by
// decoding in a child process (src/m3-decode/guard.c), which is why nothing here tries to.
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <istream>
#include <memory>
#include <new>
#include <set>
#include <streambuf>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gdcmDataSet.h>
#include <gdcmImage.h>
#include <gdcmImageReader.h>
#include <gdcmReader.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmTrace.h>
#include <gdcmTransferSyntax.h>
#include <gdcmVersion.h>

#include "m3/dcmread.h"

namespace
{

// GDCM prints its warnings on std::cerr; a filter speaks only through m3_err.
struct quiet_gdcm {
	quiet_gdcm()
	{
		gdcm::Trace::SetDebug(false);
		gdcm::Trace::SetWarning(false);
		gdcm::Trace::SetError(false);
	}
} quiet_gdcm_once;

// A read-only, seekable streambuf over a byte range of a file (pread, so threads may share
// the descriptor) or over a buffer in memory: GDCM reads through it without a copy of ours.
class srcbuf : public std::streambuf
{
      public:
	srcbuf(int fd, unsigned long long off, unsigned long long size)
	    : fd_(fd), base_(off), size_(size), mem_(nullptr), pos_(0)
	{
		setg(buf_, buf_, buf_);
	}
	srcbuf(const char *mem, size_t len) : fd_(-1), base_(0), size_(len), mem_(mem), pos_(0)
	{
		char *p = const_cast<char *>(mem);
		setg(p, p, p + len);
	}
	bool
	io_error() const
	{
		return ioerr_;
	}

      protected:
	int_type
	underflow() override
	{
		if (mem_ != nullptr)
			return traits_type::eof();
		unsigned long long at = tell();
		if (at >= size_)
			return traits_type::eof();
		ssize_t r = fill(buf_, std::min<unsigned long long>(sizeof(buf_), size_ - at), at);
		if (r <= 0)
			return traits_type::eof();
		pos_ = at;
		setg(buf_, buf_, buf_ + r);
		return traits_type::to_int_type(*gptr());
	}
	std::streamsize
	xsgetn(char *s, std::streamsize n) override
	{
		std::streamsize got = 0;
		if (mem_ != nullptr || n < (std::streamsize)sizeof(buf_))
			return std::streambuf::xsgetn(s, n);
		std::streamsize have = egptr() - gptr();
		std::memcpy(s, gptr(), (size_t)have);
		got = have;
		unsigned long long at = tell() + (unsigned long long)have;
		while (got < n && at < size_) {
			size_t want = (size_t)std::min<unsigned long long>(
				(unsigned long long)(n - got), size_ - at);
			ssize_t r = fill(s + got, want, at);
			if (r <= 0)
				break;
			got += r;
			at += (unsigned long long)r;
		}
		pos_ = at;
		setg(buf_, buf_, buf_);
		return got;
	}
	pos_type
	seekoff(off_type off, std::ios_base::seekdir dir, std::ios_base::openmode) override
	{
		long long to = (long long)off;
		if (dir == std::ios_base::cur)
			to += (long long)tell();
		else if (dir == std::ios_base::end)
			to += (long long)size_;
		return seekpos(pos_type(off_type(to)), std::ios_base::in);
	}
	pos_type
	seekpos(pos_type p, std::ios_base::openmode) override
	{
		long long to = (long long)(off_type)p;
		if (to < 0 || (unsigned long long)to > size_)
			return pos_type(off_type(-1));
		if (mem_ != nullptr) {
			char *m = const_cast<char *>(mem_);
			setg(m, m + to, m + size_);
		} else if ((unsigned long long)to >= pos_ &&
			   (unsigned long long)to <=
				   pos_ + (unsigned long long)(egptr() - eback())) {
			setg(eback(), eback() + (to - (long long)pos_), egptr());
		} else {
			pos_ = (unsigned long long)to;
			setg(buf_, buf_, buf_);
		}
		return p;
	}
	std::streamsize
	showmanyc() override
	{
		return (std::streamsize)(size_ - tell());
	}

      private:
	unsigned long long
	tell() const
	{
		if (mem_ != nullptr)
			return (unsigned long long)(gptr() - eback());
		return pos_ + (unsigned long long)(gptr() - eback());
	}
	ssize_t
	fill(char *dst, size_t n, unsigned long long at)
	{
		ssize_t r;
		do
			r = pread(fd_, dst, n, (off_t)(base_ + at));
		while (r < 0 && errno == EINTR);
		if (r < 0)
			ioerr_ = true;
		return r;
	}

	int fd_;
	unsigned long long base_, size_;
	const char *mem_;
	unsigned long long pos_; // offset of eback() in the range
	bool ioerr_ = false;
	char buf_[65536];
};

// An opened source: a descriptor we own for a path, else the caller's.
struct opened {
	int fd = -1;
	bool own = false;
	unsigned long long off = 0, size = 0;
	~opened()
	{
		if (own && fd >= 0)
			close(fd);
	}
};

int
open_src(const m3_dcm_src *src, opened &o, m3_err *e)
{
	if (src->path != nullptr) {
		struct stat st;
		if ((o.fd = open(src->path, O_RDONLY | O_CLOEXEC)) < 0)
			return m3_err_set(e, errno == EACCES ? M3_EACCESS : M3_EDATA, "%s: %s",
					  src->name, std::strerror(errno));
		o.own = true;
		if (fstat(o.fd, &st) != 0 || !S_ISREG(st.st_mode))
			return m3_err_set(e, M3_EDATA, "%s: not a regular file", src->name);
		o.size = (unsigned long long)st.st_size;
		/* a member of a tar file operand: a byte range of the file */
		if (src->size > 0) {
			if (src->off > o.size || src->size > o.size - src->off)
				return m3_err_set(e, M3_EDATA, "%s: beyond the end of its file",
						  src->name);
			o.off = src->off;
			o.size = src->size;
		}
	} else if (src->fd >= 0) {
		o.fd = src->fd;
		o.off = src->off;
		o.size = src->size;
	}
	return M3_OK;
}

srcbuf *
new_buf(const m3_dcm_src *src, const opened &o)
{
	if (src->path == nullptr && src->fd < 0)
		return new srcbuf(static_cast<const char *>(src->buf), src->len);
	return new srcbuf(o.fd, o.off, o.size);
}

// The first bytes: DICM at 128 (Part 10), or a raw data set starting in group 0002 or 0008.
// Anything else is not DICOM and never reaches GDCM.
bool
looks_dicom(std::streambuf *sb, unsigned long long size)
{
	unsigned char h[132];
	std::streamsize n = sb->sgetn(reinterpret_cast<char *>(h), sizeof(h));
	sb->pubseekpos(0, std::ios_base::in);
	if (n == (std::streamsize)sizeof(h) && std::memcmp(h + 128, "DICM", 4) == 0)
		return true;
	if (n < 8 || size < 8)
		return false;
	unsigned g = h[0] | h[1] << 8, el = h[2] | h[3] << 8;
	return (g == 0x0002 || g == 0x0008) && el < 0x1000;
}

// The value of a non-sequence element as text: trailing spaces and NULs cut, control
// characters turned into '?', so that it can go on a header line.
bool
get_str(const gdcm::DataSet &ds, uint16_t g, uint16_t el, char *out, size_t n)
{
	const gdcm::Tag t(g, el);
	out[0] = '\0';
	if (!ds.FindDataElement(t))
		return false;
	const gdcm::ByteValue *bv = ds.GetDataElement(t).GetByteValue();
	if (bv == nullptr || bv->GetPointer() == nullptr)
		return false;
	const char *p = bv->GetPointer();
	size_t len = bv->GetLength();
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\0'))
		len--;
	while (len > 0 && *p == ' ') {
		p++;
		len--;
	}
	if (len >= n)
		len = n - 1;
	for (size_t i = 0; i < len; i++)
		out[i] = (unsigned char)p[i] < 0x20 || p[i] == 0x7f ? '?' : p[i];
	out[len] = '\0';
	return len > 0;
}

// A decimal string with up to max backslash-separated numbers; how many were read.
int
get_nums(const gdcm::DataSet &ds, uint16_t g, uint16_t el, double *v, int max)
{
	char s[1024];
	int n = 0;

	if (!get_str(ds, g, el, s, sizeof(s)))
		return 0;
	for (char *p = s; n < max;) {
		char *end;
		double d = std::strtod(p, &end);
		if (end == p || !std::isfinite(d))
			return n;
		v[n++] = d;
		while (*end == ' ')
			end++;
		if (*end != '\\')
			break;
		p = end + 1;
	}
	return n;
}

// An unsigned short; big-endian data sets are swapped by GDCM's reader already.
bool
get_us(const gdcm::DataSet &ds, uint16_t g, uint16_t el, unsigned *out)
{
	const gdcm::Tag t(g, el);
	if (!ds.FindDataElement(t))
		return false;
	const gdcm::ByteValue *bv = ds.GetDataElement(t).GetByteValue();
	if (bv == nullptr || bv->GetLength() < 2 || bv->GetPointer() == nullptr)
		return false;
	uint16_t v;
	std::memcpy(&v, bv->GetPointer(), 2);
	*out = v;
	return true;
}

long
get_long(const gdcm::DataSet &ds, uint16_t g, uint16_t el)
{
	double v;
	return get_nums(ds, g, el, &v, 1) == 1 && std::fabs(v) < 1e15 ? (long)v : LONG_MIN;
}

// The first item's data set of sequence (g,el) in ds, through a callback while it lives.
template <typename F>
bool
with_item(const gdcm::DataSet &ds, uint16_t g, uint16_t el, F f)
{
	const gdcm::Tag t(g, el);
	if (!ds.FindDataElement(t))
		return false;
	gdcm::SmartPointer<gdcm::SequenceOfItems> sq = ds.GetDataElement(t).GetValueAsSQ();
	if (!sq || sq->GetNumberOfItems() < 1)
		return false;
	f(sq->GetItem(1).GetNestedDataSet());
	return true;
}

// The macros of one functional group item (shared or per frame) into f.
void
read_groups(const gdcm::DataSet &item, m3_dcm_frame *f)
{
	with_item(item, 0x0020, 0x9113,
		  [f](const gdcm::DataSet &d) { get_nums(d, 0x0020, 0x0032, f->ipp, 3); });
	with_item(item, 0x0020, 0x9116,
		  [f](const gdcm::DataSet &d) { get_nums(d, 0x0020, 0x0037, f->iop, 6); });
	with_item(item, 0x0028, 0x9110,
		  [f](const gdcm::DataSet &d) { get_nums(d, 0x0028, 0x0030, f->spacing, 2); });
	with_item(item, 0x0028, 0x9145, [f](const gdcm::DataSet &d) {
		get_nums(d, 0x0028, 0x1052, &f->intercept, 1);
		get_nums(d, 0x0028, 0x1053, &f->slope, 1);
	});
	with_item(item, 0x0028, 0x9132, [f](const gdcm::DataSet &d) {
		get_nums(d, 0x0028, 0x1050, &f->wc, 1);
		get_nums(d, 0x0028, 0x1051, &f->ww, 1);
	});
}

void
frame_defaults(const gdcm::DataSet &ds, m3_dcm_info *info, m3_dcm_frame *f)
{
	const double nan = NAN;
	for (int i = 0; i < 3; i++)
		f->ipp[i] = nan;
	for (int i = 0; i < 6; i++)
		f->iop[i] = nan;
	f->spacing[0] = f->spacing[1] = nan;
	f->slope = 1;
	f->intercept = 0;
	f->wc = f->ww = nan;
	if (get_nums(ds, 0x0020, 0x0032, f->ipp, 3) != 3)
		f->ipp[0] = nan;
	if (get_nums(ds, 0x0020, 0x0037, f->iop, 6) != 6)
		f->iop[0] = nan;
	if (get_nums(ds, 0x0028, 0x0030, f->spacing, 2) != 2 &&
	    get_nums(ds, 0x0018, 0x1164, f->spacing, 2) == 2)
		info->imager_spacing = 1;
	get_nums(ds, 0x0028, 0x1053, &f->slope, 1);
	get_nums(ds, 0x0028, 0x1052, &f->intercept, 1);
	get_nums(ds, 0x0028, 0x1050, &f->wc, 1);
	get_nums(ds, 0x0028, 0x1051, &f->ww, 1);
	if (f->slope == 0)
		f->slope = 1;
}

// Per-frame geometry: enhanced objects from their functional groups, classic multi-frame
// objects by stepping from the first frame along the normal.
void
read_frames(const gdcm::DataSet &ds, m3_dcm_info *info)
{
	m3_dcm_frame *f = info->frame;
	frame_defaults(ds, info, &f[0]);
	const gdcm::Tag shared(0x5200, 0x9229), perframe(0x5200, 0x9230);
	if (ds.FindDataElement(shared))
		with_item(ds, 0x5200, 0x9229,
			  [f](const gdcm::DataSet &d) { read_groups(d, &f[0]); });
	for (unsigned k = 1; k < info->frames; k++)
		f[k] = f[0];
	if (ds.FindDataElement(perframe)) {
		gdcm::SmartPointer<gdcm::SequenceOfItems> sq =
			ds.GetDataElement(perframe).GetValueAsSQ();
		if (sq) {
			size_t n = sq->GetNumberOfItems();
			for (unsigned k = 0; k < info->frames && k < n; k++)
				read_groups(sq->GetItem(k + 1).GetNestedDataSet(), &f[k]);
			info->enhanced = 1;
		}
	}
	if (info->enhanced || info->frames < 2 || std::isnan(f[0].ipp[0]) ||
	    std::isnan(f[0].iop[0]))
		return;
	double step = NAN, n[3];
	get_nums(ds, 0x0018, 0x0088, &step, 1);
	if (!(step > 0))
		get_nums(ds, 0x0018, 0x0050, &step, 1);
	if (!(step > 0))
		step = 1;
	const double *r = f[0].iop, *c = f[0].iop + 3;
	n[0] = r[1] * c[2] - r[2] * c[1];
	n[1] = r[2] * c[0] - r[0] * c[2];
	n[2] = r[0] * c[1] - r[1] * c[0];
	for (unsigned k = 1; k < info->frames; k++)
		for (int i = 0; i < 3; i++)
			f[k].ipp[i] = f[0].ipp[i] + k * step * n[i];
	info->guessed_position = 1;
}

int
corrupt(m3_dcm_info *info, m3_err *e, const char *name, const char *why)
{
	info->kind = M3_DCM_CORRUPT;
	return m3_err_set(e, M3_EDATA, "%s: %s", name, why);
}

// The image pixel module: sizes and format checked, pixel_bytes computed without overflow.
int
read_format(const gdcm::DataSet &ds, m3_dcm_info *info, const char *name, m3_err *e)
{
	unsigned v;
	unsigned long long n;

	if (!get_us(ds, 0x0028, 0x0010, &info->rows) || !get_us(ds, 0x0028, 0x0011, &info->cols))
		return corrupt(info, e, name, "rows or columns missing");
	if (info->rows == 0 || info->cols == 0)
		return corrupt(info, e, name, info->rows == 0 ? "rows is 0" : "columns is 0");
	info->samples = get_us(ds, 0x0028, 0x0002, &v) ? v : 1;
	info->bits_alloc = get_us(ds, 0x0028, 0x0100, &v) ? v : 0;
	info->bits_stored = get_us(ds, 0x0028, 0x0101, &v) ? v : info->bits_alloc;
	info->high_bit = get_us(ds, 0x0028, 0x0102, &v) ? v : info->bits_stored - 1;
	info->pixel_rep = get_us(ds, 0x0028, 0x0103, &v) ? v : 0;
	long frames = get_long(ds, 0x0028, 0x0008);
	if (frames == LONG_MIN)
		frames = 1;
	if (info->samples != 1 && info->samples != 3)
		return m3_err_set(e, M3_EDATA, "%s: %u samples per pixel: unsupported", name,
				  info->samples);
	if (info->bits_alloc != 8 && info->bits_alloc != 16 && info->bits_alloc != 32)
		return m3_err_set(e, M3_EDATA, "%s: %u bits allocated: unsupported", name,
				  info->bits_alloc);
	if (info->bits_stored < 1 || info->bits_stored > info->bits_alloc ||
	    info->high_bit != info->bits_stored - 1 || info->pixel_rep > 1)
		return corrupt(info, e, name,
			       "bits stored, high bit or pixel representation invalid");
	if (frames < 1 || frames > (1L << 20))
		return corrupt(info, e, name, "number of frames out of range");
	info->frames = (unsigned)frames;
	n = (unsigned long long)info->rows * info->cols * info->samples * (info->bits_alloc / 8);
	if (n > ~0ULL / info->frames || n * info->frames > (unsigned long long)SIZE_MAX / 2)
		return corrupt(info, e, name, "image size overflows");
	info->pixel_bytes = (size_t)(n * info->frames);
	return M3_OK;
}

void
read_ids(const gdcm::DataSet &ds, m3_dcm_info *info)
{
	get_str(ds, 0x0008, 0x0016, info->sop_class, sizeof(info->sop_class));
	get_str(ds, 0x0020, 0x000e, info->series_uid, sizeof(info->series_uid));
	get_str(ds, 0x0020, 0x000d, info->study_uid, sizeof(info->study_uid));
	get_str(ds, 0x0008, 0x0060, info->modality, sizeof(info->modality));
	get_str(ds, 0x0028, 0x0004, info->photometric, sizeof(info->photometric));
	if (!get_str(ds, 0x0020, 0x0062, info->laterality, sizeof(info->laterality)))
		get_str(ds, 0x0020, 0x0060, info->laterality, sizeof(info->laterality));
	get_str(ds, 0x0018, 0x5101, info->view, sizeof(info->view));
	get_str(ds, 0x0008, 0x0068, info->presentation, sizeof(info->presentation));
	get_str(ds, 0x0028, 0x1054, info->rescale_type, sizeof(info->rescale_type));
	get_str(ds, 0x0010, 0x0010, info->patient_name, sizeof(info->patient_name));
	get_str(ds, 0x0010, 0x0020, info->patient_id, sizeof(info->patient_id));
	get_str(ds, 0x0010, 0x0030, info->birth_date, sizeof(info->birth_date));
	get_str(ds, 0x0008, 0x103e, info->series_desc, sizeof(info->series_desc));
	info->series_number = get_long(ds, 0x0020, 0x0011);
	info->instance_number = get_long(ds, 0x0020, 0x0013);
}

// The pixel data element whose header ReadUpToTag (with the tag in skiptags) has just read:
// present, and for native (uncompressed) data at least pixel_bytes long, both by its length
// and by the size of the file.
int
check_pixels(std::istream &is, unsigned long long size, const gdcm::TransferSyntax &ts,
	     m3_dcm_info *info, const char *name, m3_err *e)
{
	unsigned char h[12];
	const std::streamoff hdr = ts.IsExplicit() ? 12 : 8;
	bool be = ts.GetSwapCode() == gdcm::SwapCode::BigEndian;

	is.clear();
	std::streamoff at = is.tellg();
	if (at < hdr || !is.seekg(at - hdr) || !is.read(reinterpret_cast<char *>(h), hdr))
		return corrupt(info, e, name, "no pixel data (truncated?)");
	unsigned g = be ? h[0] << 8 | h[1] : h[0] | h[1] << 8;
	unsigned el = be ? h[2] << 8 | h[3] : h[2] | h[3] << 8;
	if (g != 0x7fe0 || el != 0x0010)
		return corrupt(info, e, name, "no pixel data (truncated?)");
	const unsigned char *l = h + hdr - 4;
	unsigned long long len =
		be ? (unsigned long long)l[0] << 24 | l[1] << 16 | l[2] << 8 | l[3]
		   : (unsigned long long)l[3] << 24 | l[2] << 16 | l[1] << 8 | l[0];
	unsigned long long avail =
		(unsigned long long)at < size ? size - (unsigned long long)at : 0;
	if (avail == 0)
		return corrupt(info, e, name, "truncated before the pixel data");
	if (len == 0xffffffffULL) {
		if (!ts.IsEncapsulated())
			return corrupt(info, e, name,
				       "undefined pixel data length in a native syntax");
		return M3_OK;
	}
	if (ts.IsEncapsulated())
		return corrupt(info, e, name, "pixel data not encapsulated in a compressed syntax");
	if (len >= info->pixel_bytes && avail >= info->pixel_bytes && !be)
		info->raw_offset = (unsigned long long)at;
	if (len < info->pixel_bytes || avail < info->pixel_bytes) {
		char why[160];
		std::snprintf(why, sizeof(why), "pixel data is %llu bytes, %zu expected%s",
			      std::min(len, avail), info->pixel_bytes,
			      avail < len ? " (truncated)" : "");
		return corrupt(info, e, name, why);
	}
	return M3_OK;
}

// The photometric interpretations m3-decode turns into MONOCHROME2 or RGB; the others are
// refused here, before a wrong volume could be written.  YBR_FULL_422 only comes out of a
// JPEG codec upsampled (GDCM hands out full YCbCr); native 4:2:2 data (two bytes a pixel) is
// not read.  Colour is 8 bits, or 16 for RGB, unsigned; PALETTE COLOR is not expanded.
int
check_colour(m3_dcm_info *info, const char *name, m3_err *e)
{
	const char *pi = info->photometric;
	const char *why = nullptr;

	if (info->samples == 1) {
		if (std::strcmp(pi, "MONOCHROME1") != 0 && std::strcmp(pi, "MONOCHROME2") != 0 &&
		    pi[0] != '\0')
			why = "";
	} else if (std::strcmp(pi, "YBR_FULL_422") == 0) {
		if (!info->encapsulated)
			why = " in a native transfer syntax";
	} else if (std::strcmp(pi, "RGB") != 0 && std::strcmp(pi, "YBR_FULL") != 0 &&
		   std::strcmp(pi, "YBR_RCT") != 0 && std::strcmp(pi, "YBR_ICT") != 0) {
		why = "";
	}
	if (why == nullptr && info->samples == 3 && info->pixel_rep != 0)
		why = " with signed samples";
	if (why == nullptr && info->samples == 3 && info->bits_alloc != 8 &&
	    std::strcmp(pi, "RGB") != 0)
		why = " of more than 8 bits";
	if (why == nullptr && info->samples == 3 && info->bits_alloc == 32)
		why = " of 32 bits";
	if (why == nullptr)
		return M3_OK;
	info->kind = M3_DCM_CORRUPT;
	return m3_err_set(e, M3_EDATA, "%s: photometric interpretation %s%s: unsupported", name,
			  pi[0] != '\0' ? pi : "(none)", why);
}

int
scan(const m3_dcm_src *src, m3_dcm_info *info, m3_err *e)
{
	opened o;
	int rc;

	if ((rc = open_src(src, o, e)) != M3_OK)
		return rc;
	srcbuf *sb = new_buf(src, o);
	std::unique_ptr<srcbuf> own(sb);
	unsigned long long size = src->path == nullptr && src->fd < 0 ? src->len : o.size;
	if (!looks_dicom(sb, size)) {
		info->kind = M3_DCM_NOT_DICOM;
		return m3_err_set(e, M3_EDATA, "%s: not a DICOM file", src->name);
	}
	std::istream is(sb);
	gdcm::Reader r;
	r.SetStream(is);
	std::set<gdcm::Tag> skip{gdcm::Tag(0x7fe0, 0x0010)}; // stop after its header
	bool ok = r.ReadUpToTag(gdcm::Tag(0x7fe0, 0x0010), skip);
	if (sb->io_error())
		return m3_err_set(e, M3_EIO, "%s: read error", src->name);
	if (!ok)
		return corrupt(info, e, src->name,
			       "cannot parse the DICOM data set (corrupt or truncated)");
	const gdcm::TransferSyntax &ts = r.GetFile().GetHeader().GetDataSetTransferSyntax();
	const char *tsuid = ts.GetString();
	std::snprintf(info->transfer_syntax, sizeof(info->transfer_syntax), "%s",
		      tsuid != nullptr ? tsuid : "");
	info->encapsulated = ts.IsEncapsulated();
	const gdcm::DataSet &ds = r.GetFile().GetDataSet();
	read_ids(ds, info);
	if (info->sop_class[0] == '\0')
		get_str(r.GetFile().GetHeader(), 0x0002, 0x0002, info->sop_class,
			sizeof(info->sop_class));
	if (!ds.FindDataElement(gdcm::Tag(0x0028, 0x0010)) &&
	    ts != gdcm::TransferSyntax::DeflatedExplicitVRLittleEndian) {
		info->kind = M3_DCM_NOT_IMAGE;
		return m3_err_set(e, M3_EDATA, "%s: no pixel data (not an image)", src->name);
	}
	if ((rc = read_format(ds, info, src->name, e)) != M3_OK) {
		if (info->kind == 0)
			info->kind = M3_DCM_CORRUPT;
		return rc;
	}
	if ((rc = check_colour(info, src->name, e)) != M3_OK)
		return rc;
	if (ts != gdcm::TransferSyntax::DeflatedExplicitVRLittleEndian &&
	    (rc = check_pixels(is, size, ts, info, src->name, e)) != M3_OK)
		return rc;
	unsigned planar = 0;
	get_us(ds, 0x0028, 0x0006, &planar);
	if (info->samples == 3 && (planar != 0 || std::strcmp(info->photometric, "RGB") != 0))
		info->raw_offset = 0;
	info->frame = static_cast<m3_dcm_frame *>(std::calloc(info->frames, sizeof(m3_dcm_frame)));
	if (info->frame == nullptr)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	read_frames(ds, info);
	info->kind = M3_DCM_IMAGE;
	return M3_OK;
}

// Planar (RRR..GGG..BBB..) frames into interleaved RGB, one frame at a time.
void
interleave(unsigned char *p, size_t npix, size_t bps, unsigned frames)
{
	std::vector<unsigned char> tmp(npix * 3 * bps);
	for (unsigned f = 0; f < frames; f++, p += npix * 3 * bps) {
		std::memcpy(tmp.data(), p, tmp.size());
		for (size_t i = 0; i < npix; i++)
			for (size_t s = 0; s < 3; s++)
				std::memcpy(p + (i * 3 + s) * bps,
					    tmp.data() + (s * npix + i) * bps, bps);
	}
}

unsigned char
clamp8(double v)
{
	return v < 0 ? 0 : v > 255 ? 255 : (unsigned char)std::lround(v);
}

// YBR_FULL (8 bits) to RGB, as PS3.3 C.7.6.3.1.2 defines it.
void
ybr_to_rgb(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++, p += 3) {
		double y = p[0], cb = p[1] - 128.0, cr = p[2] - 128.0;
		p[0] = clamp8(y + 1.402 * cr);
		p[1] = clamp8(y - 0.344136 * cb - 0.714136 * cr);
		p[2] = clamp8(y + 1.772 * cb);
	}
}

// Native little-endian pixel data, checked by the scan: read straight into place, as GDCM
// would after two copies of its own.
int
read_raw(const m3_dcm_src *src, const opened &o, const m3_dcm_info *info, void *dst, size_t len,
	 m3_err *e)
{
	char *p = static_cast<char *>(dst);
	unsigned long long at = info->raw_offset;

	if (src->path == nullptr && src->fd < 0) {
		if (at > src->len || src->len - at < len)
			return m3_err_set(e, M3_EDATA, "%s: pixel data truncated", src->name);
		std::memcpy(dst, static_cast<const char *>(src->buf) + at, len);
		return M3_OK;
	}
	if (at > o.size || o.size - at < len)
		return m3_err_set(e, M3_EDATA, "%s: pixel data truncated (changed since the scan?)",
				  src->name);
	for (size_t got = 0; got < len;) {
		ssize_t r = pread(o.fd, p + got, len - got, (off_t)(o.off + at + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return m3_err_set(e, r < 0 ? M3_EIO : M3_EDATA, "%s: %s", src->name,
					  r < 0 ? std::strerror(errno) : "pixel data truncated");
		got += (size_t)r;
	}
	return M3_OK;
}

int
decode(const m3_dcm_src *src, const m3_dcm_info *info, void *dst, size_t len, m3_err *e)
{
	opened o;
	int rc;

	if (len != info->pixel_bytes)
		return m3_err_set(e, M3_EFAIL, "%s: decode buffer of the wrong size", src->name);
	if ((rc = open_src(src, o, e)) != M3_OK)
		return rc;
	if (info->raw_offset > 0)
		return read_raw(src, o, info, dst, len, e);
	std::unique_ptr<srcbuf> sb(new_buf(src, o));
	std::istream is(sb.get());
	gdcm::ImageReader r;
	r.SetStream(is);
	if (!r.Read())
		return m3_err_set(e, sb->io_error() ? M3_EIO : M3_EDATA,
				  "%s: cannot read the image (corrupt or unsupported)", src->name);
	const gdcm::Image &img = r.GetImage();
	const gdcm::PixelFormat &pf = img.GetPixelFormat();
	unsigned frames = img.GetNumberOfDimensions() == 3 ? img.GetDimension(2) : 1;
	if (img.GetDimension(0) != info->cols || img.GetDimension(1) != info->rows ||
	    frames != info->frames || pf.GetSamplesPerPixel() != info->samples ||
	    pf.GetBitsAllocated() != info->bits_alloc)
		return m3_err_set(e, M3_EDATA, "%s: image format differs from its header",
				  src->name);
	if (img.GetBufferLength() != len)
		return m3_err_set(e, M3_EDATA, "%s: decodes to %lu bytes, %zu expected", src->name,
				  img.GetBufferLength(), len);
	const gdcm::DataSet &ds = r.GetFile().GetDataSet();
	const gdcm::Tag pixtag(0x7fe0, 0x0010);
	if (!ds.FindDataElement(pixtag))
		return m3_err_set(e, M3_EDATA, "%s: no pixel data (not an image)", src->name);
	const gdcm::DataElement &px = ds.GetDataElement(pixtag);
	if (px.GetSequenceOfFragments() == nullptr &&
	    (px.GetByteValue() == nullptr || px.GetByteValue()->GetLength() < len))
		return m3_err_set(e, M3_EDATA, "%s: pixel data shorter than the image", src->name);
	if (!img.GetBuffer(static_cast<char *>(dst)))
		return m3_err_set(e, M3_EDATA, "%s: cannot decode the pixel data (%s)", src->name,
				  info->transfer_syntax);
	if (info->samples == 3) {
		size_t npix = (size_t)info->rows * info->cols, bps = info->bits_alloc / 8;
		gdcm::PhotometricInterpretation pi = img.GetPhotometricInterpretation();
		if (img.GetPlanarConfiguration() == 1)
			interleave(static_cast<unsigned char *>(dst), npix, bps, frames);
		// GDCM's JPEG codec upsamples YBR_FULL_422 but leaves it YCbCr (and says
		// YBR_FULL_422 still); JPEG 2000 undoes YBR_RCT and YBR_ICT itself.
		if ((pi == gdcm::PhotometricInterpretation::YBR_FULL ||
		     pi == gdcm::PhotometricInterpretation::YBR_FULL_422) &&
		    bps == 1)
			ybr_to_rgb(static_cast<unsigned char *>(dst), npix * frames);
		else if (pi != gdcm::PhotometricInterpretation::RGB &&
			 pi != gdcm::PhotometricInterpretation::YBR_RCT &&
			 pi != gdcm::PhotometricInterpretation::YBR_ICT)
			return m3_err_set(e, M3_EDATA,
					  "%s: photometric interpretation %s: unsupported",
					  src->name, info->photometric);
	}
	return M3_OK;
}

template <typename F>
int
guarded(const m3_dcm_src *src, m3_err *e, F f)
{
	const char *name = src->name != nullptr ? src->name : "input";
	try {
		return f();
	} catch (const std::bad_alloc &) {
		return m3_err_set(e, M3_ENOMEM, "%s: out of memory", name);
	} catch (const std::exception &x) {
		return m3_err_set(e, M3_EDATA, "%s: GDCM: %s", name, x.what());
	} catch (...) {
		return m3_err_set(e, M3_EDATA, "%s: GDCM failed on this file", name);
	}
}

} // namespace

extern "C" int
m3_dcm_scan(const m3_dcm_src *src, m3_dcm_info *info, m3_err *e)
{
	std::memset(info, 0, sizeof(*info));
	info->series_number = info->instance_number = LONG_MIN;
	int rc = guarded(src, e, [&] { return scan(src, info, e); });
	if (rc != M3_OK && info->kind == M3_DCM_IMAGE)
		info->kind = M3_DCM_CORRUPT;
	if (rc != M3_OK && info->kind == 0)
		info->kind = M3_DCM_CORRUPT;
	return rc;
}

extern "C" void
m3_dcm_info_release(m3_dcm_info *info)
{
	std::free(info->frame);
	info->frame = nullptr;
}

extern "C" int
m3_dcm_decode(const m3_dcm_src *src, const m3_dcm_info *info, void *dst, size_t len, m3_err *e)
{
	return guarded(src, e, [&] { return decode(src, info, dst, len, e); });
}

namespace
{
thread_local char assertion[200];
}

extern "C" const char *
m3_dcm_assertion(void)
{
	return assertion;
}

// Replaces glibc's reporter for the whole program (see m3/dcmread.h): GDCM's shared
// libraries bind to this definition in the executable.
extern "C" void
__assert_fail(const char *expr, const char *file, unsigned int line, const char *) noexcept
{
	const char *base = std::strrchr(file, '/');
	std::snprintf(assertion, sizeof(assertion), "%s (%s:%u)", expr,
		      base != nullptr ? base + 1 : file, line);
	std::abort();
}

extern "C" const char *
m3_dcm_version(void)
{
	return gdcm::Version::GetVersion();
}
