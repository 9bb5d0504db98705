"""One module per wire family; each turns an `Ask` into an `Answer`."""
