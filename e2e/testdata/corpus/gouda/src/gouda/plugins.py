def smoked(wheel):
    return "smoked " + wheel
