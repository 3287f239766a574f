// The GDCM writer shim: builds a data set from a flat element list, encodes the pixels, writes
// the file into memory.  The only C++ on the write side; no exception crosses the C border.
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "gdcmDataElement.h"
#include "gdcmDataSet.h"
#include "gdcmFile.h"
#include "gdcmImage.h"
#include "gdcmImageChangeTransferSyntax.h"
#include "gdcmItem.h"
#include "gdcmSequenceOfItems.h"
#include "gdcmTag.h"
#include "gdcmTransferSyntax.h"
#include "gdcmVR.h"
#include "gdcmWriter.h"

#include "m3/dcmwrite.h"

namespace
{

// A bad element list: the caller's mistake, reported as M3_EUSAGE.
struct BadList {
	std::string msg;
};

struct Syntax {
	const char *name;
	const char *uid;
	gdcm::TransferSyntax::TSType ts;
};

const Syntax syntaxes[] = {
	{"explicit", "1.2.840.10008.1.2.1", gdcm::TransferSyntax::ExplicitVRLittleEndian},
	{"rle", "1.2.840.10008.1.2.5", gdcm::TransferSyntax::RLELossless},
	{"jpegls", "1.2.840.10008.1.2.4.80", gdcm::TransferSyntax::JPEGLSLossless},
	{"j2k", "1.2.840.10008.1.2.4.90", gdcm::TransferSyntax::JPEG2000Lossless},
};

std::string
tagname(unsigned long tag)
{
	char s[32];
	std::snprintf(s, sizeof(s), "(%04lX,%04lX)", (tag >> 16) & 0xffff, tag & 0xffff);
	return s;
}

gdcm::Tag
mktag(unsigned long tag)
{
	return gdcm::Tag((uint16_t)(tag >> 16), (uint16_t)(tag & 0xffff));
}

// Little-endian bytes of each '\\'-separated number, for the binary VRs.
template <typename T>
void
put_numbers(std::string &out, const char *s, bool fp, unsigned long tag)
{
	std::string v(s != NULL ? s : "");
	size_t i = 0;

	while (i < v.size()) {
		size_t j = v.find('\\', i);
		std::string one = v.substr(i, j == std::string::npos ? std::string::npos : j - i);
		char *end;
		T x;
		errno = 0;
		if (fp)
			x = (T)std::strtod(one.c_str(), &end);
		else
			x = (T)std::strtoll(one.c_str(), &end, 10);
		if (one.empty() || *end != '\0' || errno != 0)
			throw BadList{tagname(tag) + ": bad number \"" + one + "\""};
		unsigned char b[sizeof(T)];
		std::memcpy(b, &x, sizeof(T));
		out.append((const char *)b, sizeof(T));
		if (j == std::string::npos)
			break;
		i = j + 1;
	}
}

// Each '\\'-separated tag "GGGGEEEE" (hex) as two little-endian 16-bit words, for AT.
void
put_tags(std::string &out, const char *s, unsigned long tag)
{
	std::string v(s != NULL ? s : "");
	size_t i = 0;

	while (i < v.size()) {
		size_t j = v.find('\\', i);
		std::string one = v.substr(i, j == std::string::npos ? std::string::npos : j - i);
		char *end;
		errno = 0;
		unsigned long long x = std::strtoull(one.c_str(), &end, 16);
		if (one.size() != 8 || *end != '\0' || errno != 0)
			throw BadList{tagname(tag) + ": bad tag \"" + one + "\""};
		const unsigned char b[4] = {(unsigned char)(x >> 16), (unsigned char)(x >> 24),
					    (unsigned char)x, (unsigned char)(x >> 8)};
		out.append((const char *)b, 4);
		if (j == std::string::npos)
			break;
		i = j + 1;
	}
}

gdcm::DataElement
make_element(const m3_dcm_elem &el)
{
	gdcm::VR::VRType vr = el.vr != NULL ? gdcm::VR::GetVRType(el.vr) : gdcm::VR::INVALID;
	gdcm::DataElement de(mktag(el.tag));
	std::string bytes;

	switch (vr) {
	case gdcm::VR::US:
		put_numbers<uint16_t>(bytes, el.value, false, el.tag);
		break;
	case gdcm::VR::SS:
		put_numbers<int16_t>(bytes, el.value, false, el.tag);
		break;
	case gdcm::VR::UL:
		put_numbers<uint32_t>(bytes, el.value, false, el.tag);
		break;
	case gdcm::VR::SL:
		put_numbers<int32_t>(bytes, el.value, false, el.tag);
		break;
	case gdcm::VR::FL:
		put_numbers<float>(bytes, el.value, true, el.tag);
		break;
	case gdcm::VR::FD:
		put_numbers<double>(bytes, el.value, true, el.tag);
		break;
	case gdcm::VR::AT:
		put_tags(bytes, el.value, el.tag);
		break;
	case gdcm::VR::AE:
	case gdcm::VR::AS:
	case gdcm::VR::CS:
	case gdcm::VR::DA:
	case gdcm::VR::DS:
	case gdcm::VR::DT:
	case gdcm::VR::IS:
	case gdcm::VR::LO:
	case gdcm::VR::LT:
	case gdcm::VR::PN:
	case gdcm::VR::SH:
	case gdcm::VR::ST:
	case gdcm::VR::TM:
	case gdcm::VR::UC:
	case gdcm::VR::UI:
	case gdcm::VR::UR:
	case gdcm::VR::UT:
		bytes = el.value != NULL ? el.value : "";
		if (bytes.size() % 2 != 0)
			bytes.push_back(vr == gdcm::VR::UI ? '\0' : ' ');
		break;
	default:
		throw BadList{tagname(el.tag) + ": unsupported VR \"" + (el.vr ? el.vr : "") +
			      "\""};
	}
	de.SetVR(vr);
	de.SetByteValue(bytes.data(), (uint32_t)bytes.size());
	return de;
}

void parse_items(const m3_dcm_elem *el, size_t n, size_t &i, gdcm::DataElement &sq);

// Fills ds from el[i..] until the end of the list (top level) or an item end.
void
parse_set(const m3_dcm_elem *el, size_t n, size_t &i, gdcm::DataSet &ds, bool nested)
{
	while (i < n) {
		unsigned long t = el[i].tag;
		if (t == M3_DCM_ITEM_END) {
			if (!nested)
				throw BadList{"item end outside an item"};
			i++;
			return;
		}
		if (t == M3_DCM_ITEM || t == M3_DCM_SEQ_END)
			throw BadList{"item or sequence end outside a sequence"};
		if (el[i].vr != NULL && std::strcmp(el[i].vr, "SQ") == 0) {
			gdcm::DataElement sq(mktag(t));
			i++;
			parse_items(el, n, i, sq);
			ds.Insert(sq);
		} else {
			ds.Insert(make_element(el[i]));
			i++;
		}
	}
	if (nested)
		throw BadList{"item not closed"};
}

void
parse_items(const m3_dcm_elem *el, size_t n, size_t &i, gdcm::DataElement &de)
{
	gdcm::SmartPointer<gdcm::SequenceOfItems> sq = new gdcm::SequenceOfItems;

	sq->SetLengthToUndefined();
	while (i < n && el[i].tag == M3_DCM_ITEM) {
		gdcm::Item item;
		item.SetVLToUndefined();
		i++;
		parse_set(el, n, i, item.GetNestedDataSet(), true);
		sq->AddItem(item);
	}
	if (i >= n || el[i].tag != M3_DCM_SEQ_END)
		throw BadList{tagname((unsigned long)de.GetTag().GetGroup() << 16 |
				      de.GetTag().GetElement()) +
			      ": sequence not closed"};
	i++;
	de.SetVR(gdcm::VR::SQ);
	de.SetValue(*sq);
	de.SetVLToUndefined();
}

void
put_us(gdcm::DataSet &ds, uint16_t e, unsigned v)
{
	m3_dcm_elem el = {0x00280000UL | e, "US", NULL};
	std::string s = std::to_string(v);
	el.value = s.c_str();
	ds.Replace(make_element(el));
}

void
put_str(gdcm::DataSet &ds, unsigned long tag, const char *vr, const std::string &v)
{
	m3_dcm_elem el = {tag, vr, v.c_str()};
	ds.Replace(make_element(el));
}

// The pixel data element, encoded in the transfer syntax asked for.  The filter keeps its
// input in a SmartPointer, so the image must live on the heap, owned by one.
gdcm::DataElement
encode(const m3_dcm_pixels &px, const gdcm::TransferSyntax &ts, size_t nbytes)
{
	gdcm::SmartPointer<gdcm::Image> img = new gdcm::Image;
	gdcm::PixelFormat pf(1, (unsigned short)px.bits_allocated, (unsigned short)px.bits_stored,
			     (unsigned short)(px.bits_stored - 1), px.is_signed ? 1 : 0);
	gdcm::DataElement raw(gdcm::Tag(0x7fe0, 0x0010));

	raw.SetVR(px.bits_allocated == 8 ? gdcm::VR::OB : gdcm::VR::OW);
	raw.SetByteValue((const char *)px.data, (uint32_t)nbytes);
	if (ts == gdcm::TransferSyntax::ExplicitVRLittleEndian)
		return raw;
	img->SetNumberOfDimensions(px.frames > 1 ? 3 : 2);
	img->SetDimension(0, px.columns);
	img->SetDimension(1, px.rows);
	if (px.frames > 1)
		img->SetDimension(2, px.frames);
	img->SetPixelFormat(pf);
	img->SetPhotometricInterpretation(
		gdcm::PhotometricInterpretation::GetPIType(px.photometric));
	img->SetTransferSyntax(gdcm::TransferSyntax::ExplicitVRLittleEndian);
	img->SetDataElement(raw);

	gdcm::ImageChangeTransferSyntax change;
	change.SetTransferSyntax(ts);
	change.SetInput(*img);
	if (!change.Change())
		throw std::runtime_error(std::string("cannot encode pixels as ") + ts.GetString());
	return change.GetOutput().GetDataElement();
}

int
write_mem(const m3_dcm_elem *el, size_t nel, const m3_dcm_pixels *px, enum m3_dcm_syntax syntax,
	  void **buf, size_t *len, m3_err *e)
{
	const uint16_t one = 1;
	size_t nbytes;

	if ((unsigned)syntax >= sizeof(syntaxes) / sizeof(syntaxes[0]))
		return m3_err_set(e, M3_EUSAGE, "dicom: unknown transfer syntax %d", (int)syntax);
	if ((px->bits_allocated != 8 && px->bits_allocated != 16) || px->bits_stored < 1 ||
	    px->bits_stored > px->bits_allocated || px->columns == 0 || px->rows == 0 ||
	    px->columns > 65535 || px->rows > 65535 || px->frames == 0 || px->photometric == NULL)
		return m3_err_set(e, M3_EUSAGE, "dicom: bad pixel description");
	if (*(const unsigned char *)&one != 1)
		return m3_err_set(e, M3_EFAIL, "dicom: big-endian hosts are not supported");
	nbytes = (size_t)px->columns * px->rows;
	if (nbytes > SIZE_MAX / px->frames / 2 ||
	    nbytes * px->frames * (px->bits_allocated / 8) > 0xfffffffeUL)
		return m3_err_set(e, M3_EUSAGE, "dicom: pixel data over 4 GiB");
	nbytes *= (size_t)px->frames * (px->bits_allocated / 8);

	const gdcm::TransferSyntax ts(syntaxes[syntax].ts);
	gdcm::Writer w;
	gdcm::File &f = w.GetFile();
	gdcm::DataSet &ds = f.GetDataSet();
	size_t i = 0;

	parse_set(el, nel, i, ds, false);
	put_us(ds, 0x0002, 1);
	put_str(ds, 0x00280004UL, "CS", px->photometric);
	if (px->frames > 1)
		put_str(ds, 0x00280008UL, "IS", std::to_string(px->frames));
	put_us(ds, 0x0010, px->rows);
	put_us(ds, 0x0011, px->columns);
	put_us(ds, 0x0100, px->bits_allocated);
	put_us(ds, 0x0101, px->bits_stored);
	put_us(ds, 0x0102, px->bits_stored - 1);
	put_us(ds, 0x0103, px->is_signed ? 1 : 0);
	ds.Replace(encode(*px, ts, nbytes));
	f.GetHeader().SetDataSetTransferSyntax(ts);

	std::ostringstream os;
	w.SetStream(os);
	w.SetCheckFileMetaInformation(true);
	if (!w.Write())
		return m3_err_set(e, M3_EFAIL, "dicom: gdcm could not write the data set");
	const std::string s = os.str();
	if ((*buf = std::malloc(s.size() > 0 ? s.size() : 1)) == NULL)
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	std::memcpy(*buf, s.data(), s.size());
	*len = s.size();
	return M3_OK;
}

} // namespace

extern "C" int
m3_dcm_syntax_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(syntaxes) / sizeof(syntaxes[0]); i++)
		if (s != NULL && std::strcmp(s, syntaxes[i].name) == 0)
			return (int)i;
	return -1;
}

extern "C" const char *
m3_dcm_syntax_name(enum m3_dcm_syntax s)
{
	return (unsigned)s < sizeof(syntaxes) / sizeof(syntaxes[0]) ? syntaxes[s].name : "?";
}

extern "C" const char *
m3_dcm_syntax_uid(enum m3_dcm_syntax s)
{
	return (unsigned)s < sizeof(syntaxes) / sizeof(syntaxes[0]) ? syntaxes[s].uid : "";
}

extern "C" int
m3_dcm_write_mem(const struct m3_dcm_elem *el, size_t nel, const struct m3_dcm_pixels *px,
		 enum m3_dcm_syntax syntax, void **buf, size_t *len, struct m3_err *e)
{
	*buf = NULL;
	*len = 0;
	try {
		return write_mem(el, nel, px, syntax, buf, len, e);
	} catch (const BadList &b) {
		return m3_err_set(e, M3_EUSAGE, "dicom: %s", b.msg.c_str());
	} catch (const std::bad_alloc &) {
		return m3_err_set(e, M3_ENOMEM, "out of memory");
	} catch (const std::exception &x) {
		return m3_err_set(e, M3_EFAIL, "dicom: %s", x.what());
	} catch (...) {
		return m3_err_set(e, M3_EFAIL, "dicom: unknown exception in gdcm");
	}
}
