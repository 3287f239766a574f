m3-decode_DEPS := $(DICOM_LIB)
m3-decode_LDLIBS := $(GDCM_LDLIBS)
