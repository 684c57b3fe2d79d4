enum NumPyPlaceholder {}
