from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from labelapp.middleware import API_NOT_FOUND, api_not_found
from labelapp.urls import api_path, api_urlpatterns

urlpatterns = [
    # Login, logout and password change only: the app sends no email, so no password reset by email.
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password_change/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_urlpatterns)),
    api_path("api/schema/", SpectacularAPIView, "api-schema"),
    re_path(r"^api/", api_not_found, name=API_NOT_FOUND),
    path("", include("labelapp.urls")),
]

handler404 = "labelapp.middleware.page_not_found"
handler500 = "labelapp.middleware.server_error"
