from django.urls import path

app_name = "registry_sync"
urlpatterns: list = []
