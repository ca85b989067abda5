"""Marker module so the migrations folder is a package shipped with the distribution."""
