# placeholder: owned by its component
