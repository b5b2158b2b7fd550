from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from labelapp.urls import api_path, api_urlpatterns

urlpatterns = [
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_urlpatterns)),
    api_path("api/schema/", SpectacularAPIView, "api-schema"),
    path("", include("labelapp.urls")),
]
