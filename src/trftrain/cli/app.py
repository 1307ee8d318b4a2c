"""placeholder until the CLI lands"""
def main():
    pass
