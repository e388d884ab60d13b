# SPDX-FileCopyrightText: 2026-present Ueli Zbinden <ueli@example.org>
#
# SPDX-License-Identifier: MIT
__version__ = "0.7.0"
