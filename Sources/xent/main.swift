print("xent")
