m3-phantom_DEPS := $(DICOM_LIB)
m3-phantom_LDLIBS := $(GDCM_LDLIBS)
