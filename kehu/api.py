from ninja import NinjaAPI

api = NinjaAPI(title="Kehu API", version="1", urls_namespace="api")
