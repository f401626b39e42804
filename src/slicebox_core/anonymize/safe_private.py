"""PS3.15 Table E.3.10-1 "Safe Private Attributes" (2023b), encoded as data.

Used by the Retain Safe Private Option (PS3.15 E.3.10): a private attribute is kept only when
its group, the element's low byte within its private block, and the value of the private
creator that reserves the block match a row below; every other private attribute is removed.
The block byte ``xx`` is masked out (the spec's ``0xFFFF00FF`` matching, spec §5.4.1), so an
attribute is found whichever block the device reserved.

Transcribed from the DocBook ``part15.xml`` of DICOM PS3.15 2023b (the edition of
``ps315_annex_e.json``), one row per line: tag, VR ("-" where the standard gives none),
private creator. The standard calls the list a sample that vendors do not guarantee; it is
what the option promises and no more.
"""

from __future__ import annotations

import attrs

_TABLE = """
(7053,xx00)  DS     Philips PET Private Group
(7053,xx09)  DS     Philips PET Private Group
(00E1,xx21)  DS     ELSCINT1
(00E1,xx50)  DS     ELSCINT1
(01E1,xx26)  CS     ELSCINT1
(01F1,xx01)  CS     ELSCINT1
(01F1,xx07)  DS     ELSCINT1
(01F1,xx26)  DS     ELSCINT1
(01F1,xx27)  DS     ELSCINT1
(0019,xx23)  DS     GEMS_ACQU_01
(0019,xx24)  DS     GEMS_ACQU_01
(0019,xx27)  DS     GEMS_ACQU_01
(0019,xx9E)  LO     GEMS_ACQU_01
(0043,xx27)  SH     GEMS_PARM_01
(0045,xx01)  SS     GEMS_HELIOS_01
(0045,xx02)  FL     GEMS_HELIOS_01
(0903,xx10)  US     GEIIS PACS
(0903,xx11)  US     GEIIS PACS
(0903,xx12)  US     GEIIS PACS
(2001,xx01)  FL     Philips Imaging DD 001
(2001,xx02)  IS     Philips Imaging DD 001
(2001,xx03)  FL     Philips Imaging DD 001
(2001,xx04)  CS     Philips Imaging DD 001
(2001,xx05)  SS     Philips Imaging DD 001
(2001,xx06)  CS     Philips Imaging DD 001
(2001,xx07)  CS     Philips Imaging DD 001
(2001,xx08)  IS     Philips Imaging DD 001
(2001,xx09)  FL     Philips Imaging DD 001
(2001,xx0A)  IS     Philips Imaging DD 001
(2001,xx0B)  CS     Philips Imaging DD 001
(2001,xx0C)  CS     Philips Imaging DD 001
(2001,xx0E)  CS     Philips Imaging DD 001
(2001,xx0F)  SS     Philips Imaging DD 001
(2001,xx10)  CS     Philips Imaging DD 001
(2001,xx11)  FL     Philips Imaging DD 001
(2001,xx12)  CS     Philips Imaging DD 001
(2001,xx13)  SL     Philips Imaging DD 001
(2001,xx14)  SL     Philips Imaging DD 001
(2001,xx15)  SS     Philips Imaging DD 001
(2001,xx16)  SS     Philips Imaging DD 001
(2001,xx17)  SL     Philips Imaging DD 001
(2001,xx18)  SL     Philips Imaging DD 001
(2001,xx19)  CS     Philips Imaging DD 001
(2001,xx1A)  FL     Philips Imaging DD 001
(2001,xx1B)  FL     Philips Imaging DD 001
(2001,xx1C)  CS     Philips Imaging DD 001
(2001,xx1D)  IS     Philips Imaging DD 001
(2001,xx1E)  CS     Philips Imaging DD 001
(2001,xx1F)  CS     Philips Imaging DD 001
(2001,xx21)  CS     Philips Imaging DD 001
(2001,xx22)  FL     Philips Imaging DD 001
(2001,xx23)  DS     Philips Imaging DD 001
(2001,xx24)  CS     Philips Imaging DD 001
(2001,xx25)  SH     Philips Imaging DD 001
(2001,xx26)  CS     Philips Imaging DD 001
(2001,xx27)  CS     Philips Imaging DD 001
(2001,xx28)  FL     Philips Imaging DD 001
(2001,xx29)  FL     Philips Imaging DD 001
(2001,xx2A)  CS     Philips Imaging DD 001
(2001,xx2B)  CS     Philips Imaging DD 001
(2001,xx2C)  FL     Philips Imaging DD 001
(2001,xx2D)  SS     Philips Imaging DD 001
(2001,xx2E)  CS     Philips Imaging DD 001
(2001,xx2F)  FL     Philips Imaging DD 001
(2001,xx30)  UL     Philips Imaging DD 001
(2001,xx31)  US     Philips Imaging DD 001
(2001,xx32)  FL     Philips Imaging DD 001
(2001,xx33)  CS     Philips Imaging DD 001
(2001,xx34)  CS     Philips Imaging DD 001
(2001,xx35)  SS     Philips Imaging DD 001
(2001,xx36)  CS     Philips Imaging DD 001
(2001,xx37)  CS     Philips Imaging DD 001
(2001,xx38)  FL     Philips Imaging DD 001
(2001,xx39)  FL     Philips Imaging DD 001
(2001,xx3A)  CS     Philips Imaging DD 001
(2001,xx3B)  FL     Philips Imaging DD 001
(2001,xx3C)  FL     Philips Imaging DD 001
(2001,xx3D)  UL     Philips Imaging DD 001
(2001,xx3E)  FL     Philips Imaging DD 001
(2001,xx3F)  CS     Philips Imaging DD 001
(2001,xx40)  CS     Philips Imaging DD 001
(2001,xx41)  FL     Philips Imaging DD 001
(2001,xx42)  CS     Philips Imaging DD 001
(2001,xx43)  IS     Philips Imaging DD 001
(2001,xx44)  IS     Philips Imaging DD 001
(2001,xx45)  IS     Philips Imaging DD 001
(2001,xx46)  CS     Philips Imaging DD 001
(2001,xx47)  FL     Philips Imaging DD 001
(2001,xx48)  SS     Philips Imaging DD 001
(2001,xx49)  IS     Philips Imaging DD 001
(2001,xx4A)  CS     Philips Imaging DD 001
(2001,xx4B)  CS     Philips Imaging DD 001
(2001,xx4C)  CS     Philips Imaging DD 001
(2001,xx4D)  CS     Philips Imaging DD 001
(2001,xx4E)  CS     Philips Imaging DD 001
(2001,xx4F)  FD     Philips Imaging DD 001
(2001,xx50)  LO     Philips Imaging DD 001
(2001,xx51)  IS     Philips Imaging DD 001
(2001,xx53)  CS     Philips Imaging DD 001
(2001,xx54)  FL     Philips Imaging DD 001
(2001,xx55)  UL     Philips Imaging DD 001
(2001,xx56)  CS     Philips Imaging DD 001
(2001,xx57)  CS     Philips Imaging DD 001
(2001,xx58)  UL     Philips Imaging DD 001
(2001,xx59)  IS     Philips Imaging DD 001
(2001,xx5A)  ST     Philips Imaging DD 001
(2001,xx5D)  ST     Philips Imaging DD 001
(2001,xx5E)  ST     Philips Imaging DD 001
(2001,xx5F)  SQ     Philips Imaging DD 001
(2001,xx60)  SL     Philips Imaging DD 001
(2001,xx61)  CS     Philips Imaging DD 001
(2001,xx62)  CS     Philips Imaging DD 001
(2001,xx63)  CS     Philips Imaging DD 001
(2001,xx64)  SH     Philips Imaging DD 001
(2001,xx65)  SQ     Philips Imaging DD 001
(2001,xx66)  SQ     Philips Imaging DD 001
(2001,xx67)  CS     Philips Imaging DD 001
(2001,xx68)  SQ     Philips Imaging DD 001
(2001,xx69)  SQ     Philips Imaging DD 001
(2001,xx6A)  SQ     Philips Imaging DD 001
(2001,xx6B)  SQ     Philips Imaging DD 001
(2001,xx6D)  LO     Philips Imaging DD 001
(2001,xx6E)  SH     Philips Imaging DD 001
(2001,xx6F)  SQ     Philips Imaging DD 001
(2001,xx71)  CS     Philips Imaging DD 001
(2001,xx72)  IS     Philips Imaging DD 001
(2001,xx73)  SQ     Philips Imaging DD 001
(2001,xx74)  DS     Philips Imaging DD 001
(2001,xx75)  DS     Philips Imaging DD 001
(2001,xx76)  UL     Philips Imaging DD 001
(2001,xx77)  CS     Philips Imaging DD 001
(2001,xx79)  SQ     Philips Imaging DD 001
(2001,xx7A)  FL     Philips Imaging DD 001
(2001,xx7B)  IS     Philips Imaging DD 001
(2001,xx7C)  UL     Philips Imaging DD 001
(2001,xx7D)  OW/OB  Philips Imaging DD 001
(2001,xx7E)  US     Philips Imaging DD 001
(2001,xx7F)  US     Philips Imaging DD 001
(2001,xx80)  LO     Philips Imaging DD 001
(2001,xx81)  IS     Philips Imaging DD 001
(2001,xx82)  IS     Philips Imaging DD 001
(2001,xx83)  DS     Philips Imaging DD 001
(2001,xx84)  DS     Philips Imaging DD 001
(2001,xx85)  DS     Philips Imaging DD 001
(2001,xx86)  IS     Philips Imaging DD 001
(2001,xx87)  SH     Philips Imaging DD 001
(2001,xx88)  DS     Philips Imaging DD 001
(2001,xx89)  DS     Philips Imaging DD 001
(2001,xx8A)  DS     Philips Imaging DD 001
(2001,xx8B)  SH     Philips Imaging DD 001
(2001,xx8C)  CS     Philips Imaging DD 001
(2001,xx90)  LO     Philips Imaging DD 001
(2001,xx91)  LO     Philips Imaging DD 001
(2001,xx92)  LO     Philips Imaging DD 001
(2001,xx93)  LO     Philips Imaging DD 001
(2001,xx94)  LO     Philips Imaging DD 001
(2001,xx9A)  SQ     Philips Imaging DD 001
(2001,xx9B)  UL     Philips Imaging DD 001
(2001,xx9D)  LO     Philips Imaging DD 001
(2001,xx9F)  US     Philips Imaging DD 001
(2001,xxA1)  CS     Philips Imaging DD 001
(2001,xxA2)  US     Philips Imaging DD 001
(2001,xxA3)  UL     Philips Imaging DD 001
(2001,xxA4)  UL     Philips Imaging DD 001
(2001,xxA5)  UL     Philips Imaging DD 001
(2001,xxC0)  UL     Philips Imaging DD 001
(2001,xxC1)  LO     Philips Imaging DD 001
(2001,xxC2)  FD     Philips Imaging DD 001
(2001,xxC3)  UL     Philips Imaging DD 001
(2001,xxC5)  SQ     Philips Imaging DD 001
(2001,xxC6)  SQ     Philips Imaging DD 001
(2001,xxC7)  SQ     Philips Imaging DD 001
(2001,xxCA)  SQ     Philips Imaging DD 001
(2001,xxCB)  IS     Philips Imaging DD 001
(2001,xxD0)  AT     Philips Imaging DD 001
(2001,xxD1)  US     Philips Imaging DD 001
(2001,xxD2)  US     Philips Imaging DD 001
(2001,xxD3)  US     Philips Imaging DD 001
(2001,xxD4)  US     Philips Imaging DD 001
(2001,xxD5)  US     Philips Imaging DD 001
(2001,xxD6)  US     Philips Imaging DD 001
(2001,xxD7)  US     Philips Imaging DD 001
(2001,xxD8)  US     Philips Imaging DD 001
(2001,xxD9)  US     Philips Imaging DD 001
(2001,xxDA)  CS     Philips Imaging DD 001
(2001,xxDB)  US     Philips Imaging DD 001
(2001,xxDC)  US     Philips Imaging DD 001
(2001,xxDD)  US     Philips Imaging DD 001
(2001,xxDE)  US     Philips Imaging DD 001
(2001,xxDF)  UL     Philips Imaging DD 001
(2001,xxE9)  SQ     Philips Imaging DD 001
(2001,xxF1)  FL     Philips Imaging DD 001
(2001,xxF2)  FL     Philips Imaging DD 001
(2001,xxF3)  CS     Philips Imaging DD 001
(2001,xxF4)  UL     Philips Imaging DD 001
(2001,xxF5)  CS     Philips Imaging DD 001
(2001,xxF6)  UL     Philips Imaging DD 001
(2001,xxF7)  LO     Philips Imaging DD 001
(2001,xxF9)  SQ     Philips Imaging DD 001
(2001,xxFB)  SQ     Philips Imaging DD 001
(2001,xxFC)  SQ     Philips Imaging DD 001
(2001,xxFD)  SQ     Philips Imaging DD 001
(2001,xxFF)  OW/OB  Philips Imaging DD 001
(2001,xx01)  US     Philips Imaging DD 002
(2001,xx02)  FD     Philips Imaging DD 002
(2001,xx03)  CS     Philips Imaging DD 002
(2001,xx04)  SS     Philips Imaging DD 002
(2001,xx05)  FD     Philips Imaging DD 002
(2001,xx06)  US     Philips Imaging DD 002
(2001,xx07)  CS     Philips Imaging DD 002
(2001,xx08)  FD     Philips Imaging DD 002
(2001,xx09)  FD     Philips Imaging DD 002
(2001,xx0A)  FD     Philips Imaging DD 002
(2001,xx0B)  FD     Philips Imaging DD 002
(2001,xx0C)  US     Philips Imaging DD 002
(2001,xx0D)  CS     Philips Imaging DD 002
(2001,xx0E)  FD     Philips Imaging DD 002
(2001,xx0F)  US     Philips Imaging DD 002
(2001,xx10)  SS     Philips Imaging DD 002
(2001,xx11)  SS     Philips Imaging DD 002
(2001,xx12)  CS     Philips Imaging DD 002
(2001,xx13)  SS     Philips Imaging DD 002
(2001,xx14)  FD     Philips Imaging DD 002
(2001,xx15)  FD     Philips Imaging DD 002
(2001,xx16)  FD     Philips Imaging DD 002
(2001,xx17)  FD     Philips Imaging DD 002
(2001,xx18)  CS     Philips Imaging DD 002
(2001,xx19)  FD     Philips Imaging DD 002
(2001,xx1A)  FD     Philips Imaging DD 002
(2001,xx1B)  FD     Philips Imaging DD 002
(2001,xx1C)  FD     Philips Imaging DD 002
(2001,xx1D)  FD     Philips Imaging DD 002
(2001,xx1E)  FD     Philips Imaging DD 002
(2001,xx1F)  FD     Philips Imaging DD 002
(2001,xx20)  FD     Philips Imaging DD 002
(2001,xx21)  FD     Philips Imaging DD 002
(2001,xx22)  FD     Philips Imaging DD 002
(2001,xx23)  FD     Philips Imaging DD 002
(2001,xx24)  FD     Philips Imaging DD 002
(2001,xx25)  FD     Philips Imaging DD 002
(2001,xx26)  FD     Philips Imaging DD 002
(2001,xx27)  FD     Philips Imaging DD 002
(2001,xx28)  US     Philips Imaging DD 002
(2001,xx29)  US     Philips Imaging DD 002
(2001,xx2A)  US     Philips Imaging DD 002
(2001,xx2B)  SS     Philips Imaging DD 002
(2001,xx2C)  FD     Philips Imaging DD 002
(2001,xx2D)  FD     Philips Imaging DD 002
(2001,xx2E)  SS     Philips Imaging DD 002
(2001,xx2F)  SS     Philips Imaging DD 002
(2001,xx30)  SS     Philips Imaging DD 002
(2001,xx31)  SS     Philips Imaging DD 002
(2001,xx32)  SS     Philips Imaging DD 002
(2001,xx33)  SS     Philips Imaging DD 002
(2001,xx34)  SS     Philips Imaging DD 002
(2001,xx35)  FD     Philips Imaging DD 002
(2001,xx36)  FD     Philips Imaging DD 002
(2001,xx37)  FD     Philips Imaging DD 002
(2001,xx38)  FD     Philips Imaging DD 002
(2001,xx39)  CS     Philips Imaging DD 002
(2001,xx3A)  SQ     Philips Imaging DD 002
(2001,xx3B)  SQ     Philips Imaging DD 002
(2001,xx3C)  SQ     Philips Imaging DD 002
(2001,xx3D)  SQ     Philips Imaging DD 002
(2001,xx3E)  SS     Philips Imaging DD 002
(2001,xx3F)  SS     Philips Imaging DD 002
(2001,xx40)  SS     Philips Imaging DD 002
(2001,xx50)  CS     Philips Imaging DD 002
(2001,xx52)  LO     Philips Imaging DD 002
(2001,xx53)  CS     Philips Imaging DD 002
(2001,xx57)  SQ     Philips Imaging DD 002
(2001,xx58)  SQ     Philips Imaging DD 002
(2001,xx5A)  LO     Philips Imaging DD 002
(2001,xx5C)  LO     Philips Imaging DD 002
(2001,xx5D)  UL     Philips Imaging DD 002
(2001,xx5E)  UL     Philips Imaging DD 002
(2001,xx5F)  SQ     Philips Imaging DD 002
(2001,xx63)  ST     Philips Imaging DD 002
(2001,xx64)  SQ     Philips Imaging DD 002
(2001,xx65)  CS     Philips Imaging DD 002
(2001,xx66)  CS     Philips Imaging DD 002
(2001,xx67)  LO     Philips Imaging DD 002
(2001,xx68)  LO     Philips Imaging DD 002
(2001,xx6B)  LO     Philips Imaging DD 002
(2001,xx71)  CS     Philips Imaging DD 002
(2001,xx72)  FL     Philips Imaging DD 002
(2001,xx73)  FL     Philips Imaging DD 002
(2001,xx74)  LO     Philips Imaging DD 002
(2001,xx75)  SS     Philips Imaging DD 002
(2001,xx01)  SQ     Philips Imaging DD 097
(2001,xx02)  FD     Philips Imaging DD 097
(2001,xx03)  FD     Philips Imaging DD 097
(2001,xx04)  FD     Philips Imaging DD 097
(2001,xx05)  SQ     Philips Imaging DD 097
(2001,xx06)  SQ     Philips Imaging DD 097
(2001,xx07)  FD     Philips Imaging DD 097
(2001,xx08)  SQ     Philips Imaging DD 097
(2001,xx0A)  SQ     Philips Imaging DD 097
(2001,xx0B)  SQ     Philips Imaging DD 097
(2001,xx0D)  FD     Philips Imaging DD 097
(2001,xx0E)  SQ     Philips Imaging DD 097
(2001,xx0F)  FD     Philips Imaging DD 097
(2001,xx12)  SQ     Philips Imaging DD 097
(2001,xx17)  US     Philips Imaging DD 097
(2001,xx18)  US     Philips Imaging DD 097
(2001,xx19)  LO     Philips Imaging DD 097
(2001,xx1A)  FD     Philips Imaging DD 097
(2001,xx1B)  UL     Philips Imaging DD 097
(2001,xx1C)  FD     Philips Imaging DD 097
(2001,xx1D)  FD     Philips Imaging DD 097
(2001,xx1E)  FD     Philips Imaging DD 097
(2001,xx1F)  FD     Philips Imaging DD 097
(2001,xx21)  UL     Philips Imaging DD 097
(2001,xx22)  FD     Philips Imaging DD 097
(2001,xx23)  FD     Philips Imaging DD 097
(2001,xx24)  FD     Philips Imaging DD 097
(2001,xx25)  FD     Philips Imaging DD 097
(2001,xx26)  FD     Philips Imaging DD 097
(2001,xx27)  FD     Philips Imaging DD 097
(2001,xx28)  LO     Philips Imaging DD 097
(2001,xx2A)  LO     Philips Imaging DD 097
(2001,xx2B)  FD     Philips Imaging DD 097
(2001,xx2C)  FD     Philips Imaging DD 097
(2001,xx2D)  UL     Philips Imaging DD 097
(2001,xx2E)  SQ     Philips Imaging DD 097
(2001,xx2F)  OB     Philips Imaging DD 097
(2001,xx30)  SL     Philips Imaging DD 097
(2001,xx31)  SL     Philips Imaging DD 097
(2001,xx32)  SL     Philips Imaging DD 097
(2001,xx36)  LO     Philips Imaging DD 097
(2001,xx37)  FD     Philips Imaging DD 097
(2001,xx38)  FD     Philips Imaging DD 097
(2001,xx39)  FD     Philips Imaging DD 097
(2001,xx3A)  FD     Philips Imaging DD 097
(2001,xx3B)  FD     Philips Imaging DD 097
(2001,xx3C)  SQ     Philips Imaging DD 097
(2001,xx3D)  FD     Philips Imaging DD 097
(2001,xx3E)  SQ     Philips Imaging DD 097
(2001,xx40)  UL     Philips Imaging DD 097
(2001,xx41)  LO     Philips Imaging DD 097
(2001,xx42)  SQ     Philips Imaging DD 097
(2001,xx44)  LO     Philips Imaging DD 097
(2001,xx45)  SL     Philips Imaging DD 097
(2001,xx46)  LO     Philips Imaging DD 097
(2001,xx47)  OB     Philips Imaging DD 097
(2001,xx49)  SQ     Philips Imaging DD 097
(2001,xx4A)  OB     Philips Imaging DD 097
(2001,xx4B)  SL     Philips Imaging DD 097
(2001,xx4C)  LO     Philips Imaging DD 097
(2001,xxA1)  CS     Philips Imaging DD 097
(2001,xxA2)  FD     Philips Imaging DD 097
(2001,xxA3)  FD     Philips Imaging DD 097
(2001,xxA4)  FD     Philips Imaging DD 097
(2001,xxA5)  FD     Philips Imaging DD 097
(2001,xxA6)  US     Philips Imaging DD 097
(2001,xxA8)  IS     Philips Imaging DD 097
(2001,xxA9)  SQ     Philips Imaging DD 097
(2001,xxAA)  FD     Philips Imaging DD 097
(2001,xxAB)  IS     Philips Imaging DD 097
(2001,xx00)  SQ     Philips Imaging DD 129
(2001,xx01)  SQ     Philips Imaging DD 129
(2001,xx02)  SQ     Philips Imaging DD 129
(2001,xx03)  UL     Philips Imaging DD 129
(2001,xx04)  SQ     Philips Imaging DD 129
(2001,xx05)  FD     Philips Imaging DD 129
(2001,xx06)  FD     Philips Imaging DD 129
(2001,xx07)  CS     Philips Imaging DD 129
(2001,xx08)  CS     Philips Imaging DD 129
(2001,xx09)  UL     Philips Imaging DD 129
(0025,xx01)  OW     Philips ST80i
(0019,xx0C)  IS     SIEMENS MR HEADER
(0019,xx0D)  CS     SIEMENS MR HEADER
(0019,xx0E)  FD     SIEMENS MR HEADER
(0019,xx27)  FD     SIEMENS MR HEADER
(0043,xx39)  IS     GEMS_PARM_01
(0043,xx6F)  DS     GEMS_PARM_01
(0025,xx07)  SL     GEMS_SERS_01
(7E01,xx01)  LO     HOLOGIC, Inc.
(7E01,xx02)  SH     HOLOGIC, Inc.
(7E01,xx10)  SQ     HOLOGIC, Inc.
(7E01,xx11)  SQ     HOLOGIC, Inc.
(7E01,xx12)  OB     HOLOGIC, Inc.
(0099,xx01)  UI     NQHeader
(0099,xx02)  UI     NQHeader
(0099,xx04)  SS     NQHeader
(0099,xx05)  LT     NQHeader
(0099,xx10)  FL     NQHeader
(0099,xx20)  SH     NQHeader
(0099,xx21)  FL     NQHeader
(0199,xx01)  FL     NQLeft
(0199,xx02)  FL     NQLeft
(0199,xx03)  FL     NQLeft
(0199,xx04)  FL     NQLeft
(0199,xx05)  FL     NQLeft
(0199,xx06)  FL     NQLeft
(0199,xx07)  FL     NQLeft
(0199,xx08)  FL     NQLeft
(0199,xx09)  FL     NQLeft
(0199,xx0A)  FL     NQLeft
(0199,xx0B)  FL     NQLeft
(0199,xx0C)  FL     NQLeft
(0199,xx0D)  FL     NQLeft
(0199,xx0E)  FL     NQLeft
(0199,xx0F)  FL     NQLeft
(0199,xx10)  FL     NQLeft
(0199,xx11)  FL     NQLeft
(0199,xx12)  FL     NQLeft
(0199,xx13)  FL     NQLeft
(0199,xx14)  FL     NQLeft
(0199,xx15)  FL     NQLeft
(0199,xx16)  FL     NQLeft
(0299,xx01)  FL     NQRight
(0299,xx02)  FL     NQRight
(0299,xx03)  FL     NQRight
(0299,xx04)  FL     NQRight
(0299,xx05)  FL     NQRight
(0299,xx06)  FL     NQRight
(0299,xx07)  FL     NQRight
(0299,xx08)  FL     NQRight
(0299,xx09)  FL     NQRight
(0299,xx0A)  FL     NQRight
(0299,xx0B)  FL     NQRight
(0299,xx0C)  FL     NQRight
(0299,xx0D)  FL     NQRight
(0299,xx0E)  FL     NQRight
(0299,xx0F)  FL     NQRight
(0299,xx10)  FL     NQRight
(0299,xx11)  FL     NQRight
(0299,xx12)  FL     NQRight
(0299,xx13)  FL     NQRight
(0299,xx14)  FL     NQRight
(0299,xx15)  FL     NQRight
(0299,xx16)  FL     NQRight
(2005,xx0D)  FL     Philips MR Imaging DD 001
(2005,xx0E)  FL     Philips MR Imaging DD 001
(0119,xx00)  LO     SIEMENS Ultrasound SC2000
(0119,xx01)  OB     SIEMENS Ultrasound SC2000
(0119,xx02)  SQ     SIEMENS Ultrasound SC2000
(0119,xx03)  SQ     SIEMENS Ultrasound SC2000
(0119,xx04)  OB     SIEMENS Ultrasound SC2000
(0119,xx05)  UL     SIEMENS Ultrasound SC2000
(0119,xx06)  UL     SIEMENS Ultrasound SC2000
(0119,xx07)  UL     SIEMENS Ultrasound SC2000
(0119,xx08)  UL     SIEMENS Ultrasound SC2000
(0119,xx09)  SS     SIEMENS Ultrasound SC2000
(0119,xx10)  SH     SIEMENS Ultrasound SC2000
(0119,xx11)  -      SIEMENS Ultrasound SC2000
(0119,xx12)  -      SIEMENS Ultrasound SC2000
(0119,xx13)  IS     SIEMENS Ultrasound SC2000
(0119,xx21)  SH     SIEMENS Ultrasound SC2000
(0129,xx00)  SQ     SIEMENS Ultrasound SC2000
(0129,xx02)  UI     SIEMENS Ultrasound SC2000
(0129,xx03)  -      SIEMENS Ultrasound SC2000
(0129,xx04)  -      SIEMENS Ultrasound SC2000
(0129,xx05)  -      SIEMENS Ultrasound SC2000
(0129,xx06)  SQ     SIEMENS Ultrasound SC2000
(0129,xx07)  UI     SIEMENS Ultrasound SC2000
(0129,xx08)  OB     SIEMENS Ultrasound SC2000
(0129,xx09)  SQ     SIEMENS Ultrasound SC2000
(0129,xx10)  OB     SIEMENS Ultrasound SC2000
(0129,xx11)  SQ     SIEMENS Ultrasound SC2000
(0129,xx12)  UI     SIEMENS Ultrasound SC2000
(0129,xx20)  SQ     SIEMENS Ultrasound SC2000
(0129,xx21)  OB     SIEMENS Ultrasound SC2000
(0129,xx22)  OB     SIEMENS Ultrasound SC2000
(0129,xx29)  OB     SIEMENS Ultrasound SC2000
(0129,xx30)  CS     SIEMENS Ultrasound SC2000
(0139,xx01)  SL     SIEMENS Ultrasound SC2000
(0149,xx01)  FD     SIEMENS Ultrasound SC2000
(0149,xx02)  FD     SIEMENS Ultrasound SC2000
(0149,xx03)  FD     SIEMENS Ultrasound SC2000
(7FD1,xx01)  OB     SIEMENS Ultrasound SC2000
(7FD1,xx09)  UI     SIEMENS Ultrasound SC2000
(7FD1,xx10)  OB     SIEMENS Ultrasound SC2000
(7FD1,xx11)  OB     SIEMENS Ultrasound SC2000
(7FD1,xx01)  OB     SIEMENS SYNGO ULTRA-SOUND TOYON DATA STREAMING
(7FD1,xx09)  UI     SIEMENS SYNGO ULTRA-SOUND TOYON DATA STREAMING
(7FD1,xx10)  OB     SIEMENS SYNGO ULTRA-SOUND TOYON DATA STREAMING
(7FD1,xx11)  OB     SIEMENS SYNGO ULTRA-SOUND TOYON DATA STREAMING
"""


@attrs.frozen
class SafePrivateAttribute:
    """One row of Table E.3.10-1."""

    group: int
    element: int  # the low byte; the block byte is ``xx``
    creator: str
    vr: str


def _parse(table: str) -> tuple[SafePrivateAttribute, ...]:
    rows = []
    for line in table.strip().splitlines():
        tag, vr, creator = line.split(maxsplit=2)
        group, element = tag.strip("()").split(",")
        rows.append(
            SafePrivateAttribute(
                int(group, 16), int(element[2:], 16), creator.strip(), "" if vr == "-" else vr
            )
        )
    return tuple(rows)


SAFE_PRIVATE_ATTRIBUTES: tuple[SafePrivateAttribute, ...] = _parse(_TABLE)

_INDEX: dict[tuple[int, str, int], SafePrivateAttribute] = {
    (row.group, row.creator, row.element): row for row in SAFE_PRIVATE_ATTRIBUTES
}


def normalize_creator(value: object) -> str:
    """A private creator value as compared: text without padding (PS3.5 7.8.1)."""
    if isinstance(value, bytes):
        value = value.decode("ascii", errors="replace")
    return str(value or "").strip(" \x00")


def safe_private_attribute(group: int, creator: str, element: int) -> SafePrivateAttribute | None:
    """The Table E.3.10-1 row of private element ``(group, xx<element low byte>)``, if any.

    Args:
        group: the odd group number.
        creator: the value of the private creator reserving the element's block.
        element: the element number (the block byte is ignored).
    """
    return _INDEX.get((group, normalize_creator(creator), element & 0xFF))
